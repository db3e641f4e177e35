using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Forge.Model;

/// <summary>
/// An LSTM language model (after PyTorch's word_language_model example) from the same <see cref="GptConfig"/>:
/// token embedding, a Layers-deep LSTM of hidden size Width, dropout, and a tied or separate output head.
/// Every window starts from a zero state. The LSTM itself runs in float32 whatever the compute type: only the
/// head's matmul follows it.
/// </summary>
public sealed class Lstm : LanguageModel
{
    private readonly Embedding tokenEmbedding;
    private readonly Dropout inputDropout;
    private readonly LSTM recurrent;
    private readonly Dropout outputDropout;
    private readonly AutocastLinear? head;

    public Lstm(GptConfig config) : base(nameof(Lstm), config)
    {
        if (config.Architecture != ModelArchitecture.Lstm)
            throw new ArgumentException($"An Lstm needs Architecture lstm, not {config.Architecture}.", nameof(config));
        tokenEmbedding = Embedding(config.VocabularySize, config.Width);
        init.normal_(tokenEmbedding.weight!, 0, Gpt.InitStd);
        inputDropout = Dropout(config.Dropout);
        recurrent = LSTM(config.Width, config.Width, config.Layers, bias: config.Bias, batchFirst: true, dropout: config.Layers > 1 ? config.Dropout : 0);
        outputDropout = Dropout(config.Dropout);
        head = config.TieEmbeddings ? null : new AutocastLinear(config.Width, config.VocabularySize, hasBias: false, Gpt.InitStd);
        RegisterComponents();
    }

    internal override Tensor OutputWeight => head is null ? tokenEmbedding.weight! : head.Weight;

    internal override Tensor TokenEmbeddingWeight => tokenEmbedding.weight!;

    /// <summary>6 FLOPs per multiplied parameter per token; the token table counts only when the head multiplies by it.</summary>
    public override double TrainingFlopsPerToken =>
        6.0 * (ParameterCount - (head is null ? 0 : tokenEmbedding.weight!.numel()));

    public override Tensor forward(Tensor tokens)
    {
        var x = inputDropout.call(tokenEmbedding.call(tokens)); // (B, T, C)
        var (output, _, _) = recurrent.call(x); // (B, T, C)
        output = outputDropout.call(output);
        return head is null
            ? ComputePrecision.Linear(output, tokenEmbedding.weight!, null, ComputeType) // (B, T, vocabulary)
            : head.call(output);
    }
}
