using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Forge.Model;

/// <summary>
/// An LSTM language model (after PyTorch's word_language_model example) from the same <see cref="GptConfig"/>:
/// token embedding, a Layers-deep LSTM of hidden size Width, dropout, and a tied or separate output head.
/// Every window starts from a zero state; cached decoding carries the state from one step to the next. The LSTM
/// itself runs in float32 whatever the compute type: only the head's matmul follows it.
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
        var (output, _, _) = recurrent.call(Embed(tokens)); // (B, T, C)
        return Head(output);
    }

    public override DecodingState BeginDecoding() => new LstmDecodingState(this);

    internal override Tensor Decode(DecodingState state, Tensor tokens)
    {
        var carried = (LstmDecodingState)state;
        var (output, hidden, cell) = recurrent.call(Embed(tokens), carried.HiddenAndCell); // (B, T, C)
        carried.Carry(hidden, cell);
        return Head(output);
    }

    private Tensor Embed(Tensor tokens) => inputDropout.call(tokenEmbedding.call(tokens)); // (B, T, C)

    private Tensor Head(Tensor output)
    {
        output = outputDropout.call(output);
        return head is null
            ? ComputePrecision.Linear(output, tokenEmbedding.weight!, null, ComputeType) // (B, T, vocabulary)
            : head.call(output);
    }
}

/// <summary>An LSTM's cached decoding: the hidden and cell state after the tokens read so far, carried into the next step.</summary>
internal sealed class LstmDecodingState(Lstm model) : DecodingState(model)
{
    /// <summary>(layers, B, C) each; null before the first step, which starts from zeros as forward does.</summary>
    public (Tensor Hidden, Tensor Cell)? HiddenAndCell { get; private set; }

    public void Carry(Tensor hidden, Tensor cell)
    {
        Release();
        HiddenAndCell = (hidden.DetachFromDisposeScope(), cell.DetachFromDisposeScope());
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
            Release();
    }

    private void Release()
    {
        if (HiddenAndCell is var (hidden, cell))
        {
            hidden.Dispose();
            cell.Dispose();
        }
        HiddenAndCell = null;
    }
}
