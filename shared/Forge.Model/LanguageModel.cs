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

    /// <summary>
    /// Starts cached decoding for one request. The state holds what the model computed for the tokens read so far (a
    /// GPT's keys and values, an LSTM's hidden and cell state); the model itself keeps nothing, so one model in eval
    /// mode serves many requests at once, each on its own thread with its own state.
    /// </summary>
    public abstract DecodingState BeginDecoding();

    /// <summary>
    /// Reads <paramref name="tokens"/> (B, n), the tokens that follow the <see cref="DecodingState.Position"/> ones the
    /// state has read, and returns their logits (B, n, vocabulary): what <c>forward</c> gives for those positions of
    /// the whole window. The state then includes them. A state covers one window: at most ContextLength tokens.
    /// </summary>
    public Tensor Step(DecodingState state, Tensor tokens)
    {
        ArgumentNullException.ThrowIfNull(state);
        ArgumentNullException.ThrowIfNull(tokens);
        if (state.Model != this)
            throw new ArgumentException("This decoding state was begun by another model.", nameof(state));
        var length = (int)tokens.shape[1];
        if (state.Position + length > Config.ContextLength)
            throw new ArgumentException($"A decoding state holds at most {Config.ContextLength} tokens; it has {state.Position} and got {length} more.", nameof(tokens));
        var logits = Decode(state, tokens);
        state.Position += length;
        return logits;
    }

    /// <summary><see cref="Step"/> once its arguments are checked: <paramref name="state"/> is this model's own.</summary>
    internal abstract Tensor Decode(DecodingState state, Tensor tokens);

    /// <summary>A target that does not count in <see cref="Loss"/>: a prompt or padding position (cross_entropy's default ignore_index).</summary>
    public const long IgnoredTarget = -100;

    /// <summary>
    /// Mean cross-entropy of predicting <paramref name="targets"/> (B, T) from <paramref name="tokens"/> (B, T), in
    /// float32, over the targets that are not <see cref="IgnoredTarget"/>. A batch whose every target is ignored has
    /// loss 0 and zero gradients, where a plain mean would divide by zero and give NaN.
    /// </summary>
    public Tensor Loss(Tensor tokens, Tensor targets)
    {
        var logits = call(tokens); // (B, T, vocabulary)
        var flat = logits.view(-1, logits.shape[^1]); // (B·T, vocabulary)
        if (flat.dtype != ScalarType.Float32)
            flat = flat.to(ScalarType.Float32);
        var flatTargets = targets.view(-1);
        var summed = nn.functional.cross_entropy(flat, flatTargets, ignore_index: IgnoredTarget, reduction: nn.Reduction.Sum);
        return summed / flatTargets.ne(IgnoredTarget).sum().clamp_min(1);
    }
}

/// <summary>
/// One request's cached decoding (see <see cref="LanguageModel.BeginDecoding"/>). Its tensors live outside every
/// dispose scope, so they outlast the step that made them; disposing the state frees them.
/// </summary>
public abstract class DecodingState : IDisposable
{
    private protected DecodingState(LanguageModel model) => Model = model;

    internal LanguageModel Model { get; }

    /// <summary>Tokens read so far: the position the next token takes.</summary>
    public int Position { get; internal set; }

    public void Dispose()
    {
        Dispose(true);
        GC.SuppressFinalize(this);
    }

    protected abstract void Dispose(bool disposing);
}
