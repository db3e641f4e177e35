using System.Text.Json.Serialization;

namespace Forge.Model;

[JsonConverter(typeof(JsonStringEnumConverter<ModelArchitecture>))]
public enum ModelArchitecture
{
    [JsonStringEnumMemberName("gpt")] Gpt,
    [JsonStringEnumMemberName("lstm")] Lstm,
}

[JsonConverter(typeof(JsonStringEnumConverter<PositionEncoding>))]
public enum PositionEncoding
{
    [JsonStringEnumMemberName("learned")] Learned,
    [JsonStringEnumMemberName("rotary")] Rotary,
}

/// <summary>
/// The shape of a language model, after nanoGPT's GPTConfig. The LSTM reads the same record (Width is its hidden
/// size, Heads and Positions do not apply), so a recipe switches architecture by changing one field.
/// </summary>
public sealed record GptConfig
{
    public ModelArchitecture Architecture { get; init; } = ModelArchitecture.Gpt;

    /// <summary>50304: GPT-2's 50257 tokens padded up to a multiple of 64, which matmuls prefer.</summary>
    public int VocabularySize { get; init; } = 50304;

    /// <summary>Tokens the model sees at once (nanoGPT's block_size); also the length of a training window.</summary>
    public int ContextLength { get; init; } = 1024;

    public int Layers { get; init; } = 12;

    /// <summary>Attention heads; they split Width, so they must divide it.</summary>
    public int Heads { get; init; } = 12;

    /// <summary>Embedding width (n_embd), and the LSTM's hidden size.</summary>
    public int Width { get; init; } = 768;

    /// <summary>0 for pretraining; 0.1 or more when fine-tuning on little data.</summary>
    public double Dropout { get; init; }

    /// <summary>Biases in linear layers and layer norms, as in GPT-2; without them a model is a little better and faster.</summary>
    public bool Bias { get; init; } = true;

    public PositionEncoding Positions { get; init; } = PositionEncoding.Learned;

    /// <summary>The output head reuses the token embedding matrix (weight tying), as GPT-2 does.</summary>
    public bool TieEmbeddings { get; init; } = true;

    /// <summary>The base of the rotary frequencies (theta).</summary>
    public double RotaryBase { get; init; } = 10_000;

    [JsonIgnore]
    public int HeadSize => Heads > 0 ? Width / Heads : 0;

    /// <summary>Every problem with this configuration, in words; empty when it is usable.</summary>
    public IReadOnlyList<string> Problems()
    {
        var problems = new List<string>();
        void Positive(string name, double value)
        {
            if (value <= 0)
                problems.Add($"{name} must be positive (got {value}).");
        }

        if (!Enum.IsDefined(Architecture))
            problems.Add($"Architecture {(int)Architecture} is not known; use gpt or lstm.");
        Positive(nameof(VocabularySize), VocabularySize);
        Positive(nameof(ContextLength), ContextLength);
        Positive(nameof(Layers), Layers);
        Positive(nameof(Width), Width);
        if (Dropout is < 0 or >= 1 || double.IsNaN(Dropout))
            problems.Add($"Dropout must be in [0, 1) (got {Dropout}).");
        if (Architecture == ModelArchitecture.Gpt)
        {
            Positive(nameof(Heads), Heads);
            if (Heads > 0 && Width > 0 && Width % Heads != 0)
                problems.Add($"Heads ({Heads}) must divide Width ({Width}): each head gets Width / Heads channels.");
            if (Positions == PositionEncoding.Rotary && Heads > 0 && Width % Heads == 0 && HeadSize % 2 != 0)
                problems.Add($"Rotary positions rotate channel pairs, so the head size Width / Heads must be even (got {HeadSize}).");
            if (Positions == PositionEncoding.Rotary)
                Positive(nameof(RotaryBase), RotaryBase);
            if (!Enum.IsDefined(Positions))
                problems.Add($"Positions {(int)Positions} is not known; use learned or rotary.");
        }
        return problems;
    }

    /// <summary>Throws one <see cref="ArgumentException"/> that lists every problem.</summary>
    public void Validate()
    {
        var problems = Problems();
        if (problems.Count > 0)
            throw new ArgumentException("The model configuration is not valid: " + string.Join(" ", problems));
    }
}
