using static TorchSharp.torch;

namespace Forge.Model;

/// <summary>A network that maps tokens (B, T) to next-token logits (B, T, vocabulary): the GPT or the LSTM.</summary>
public abstract class LanguageModel : nn.Module<Tensor, Tensor>
{
    private ScalarType computeType = ScalarType.Float32;

    protected LanguageModel(string name, GptConfig config) : base(name)
    {
        config.Validate();
        Config = config;
    }

    public GptConfig Config { get; }

    /// <summary>The type matmuls run in (see <see cref="ComputePrecision"/>); parameters stay float32 whatever it is.</summary>
    public ScalarType ComputeType
    {
        get => computeType;
        set
        {
            computeType = value;
            foreach (var linear in modules().OfType<AutocastLinear>())
                linear.ComputeType = value;
        }
    }

    /// <summary>The matrix the output head multiplies by: the token embedding itself when they are tied.</summary>
    internal abstract Tensor OutputWeight { get; }

    internal abstract Tensor TokenEmbeddingWeight { get; }

    public long ParameterCount => parameters().Sum(p => p.numel());

    /// <summary>Training FLOPs per token (forward and backward), as nanoGPT's estimate_mfu counts them.</summary>
    public abstract double TrainingFlopsPerToken { get; }

    public static LanguageModel Create(GptConfig config) => config.Architecture switch
    {
        ModelArchitecture.Gpt => new Gpt(config),
        ModelArchitecture.Lstm => new Lstm(config),
        _ => throw new ArgumentException($"Architecture {config.Architecture} is not known.", nameof(config)),
    };

    /// <summary>Mean cross-entropy of predicting <paramref name="targets"/> (B, T) from <paramref name="tokens"/> (B, T), in float32.</summary>
    public Tensor Loss(Tensor tokens, Tensor targets)
    {
        var logits = call(tokens); // (B, T, vocabulary)
        var flat = logits.view(-1, logits.shape[^1]); // (B·T, vocabulary)
        if (flat.dtype != ScalarType.Float32)
            flat = flat.to(ScalarType.Float32);
        return nn.functional.cross_entropy(flat, targets.view(-1));
    }
}
