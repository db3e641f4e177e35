using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Forge.Model;

/// <summary>
/// A GPT-2 style decoder-only transformer, after nanoGPT's model.py: pre-norm blocks, GELU MLP, causal attention through
/// scaled_dot_product_attention, learned or rotary positions, optionally tied input and output embeddings.
/// </summary>
public sealed class Gpt : LanguageModel
{
    /// <summary>GPT-2's initialisation: every weight matrix is drawn from normal(0, 0.02).</summary>
    internal const double InitStd = 0.02;

    private readonly Embedding tokenEmbedding;
    private readonly Embedding? positionEmbedding;
    private readonly Dropout embeddingDropout;
    private readonly ModuleList<Block> blocks;
    private readonly LayerNorm finalNorm;
    private readonly AutocastLinear? head;

    public Gpt(GptConfig config) : base(nameof(Gpt), config)
    {
        if (config.Architecture != ModelArchitecture.Gpt)
            throw new ArgumentException($"A Gpt needs Architecture gpt, not {config.Architecture}.", nameof(config));
        tokenEmbedding = Embedding(config.VocabularySize, config.Width);
        init.normal_(tokenEmbedding.weight!, 0, InitStd);
        if (config.Positions == PositionEncoding.Learned)
        {
            positionEmbedding = Embedding(config.ContextLength, config.Width);
            init.normal_(positionEmbedding.weight!, 0, InitStd);
        }
        embeddingDropout = Dropout(config.Dropout);
        blocks = ModuleList(Enumerable.Range(0, config.Layers).Select(_ => new Block(config)).ToArray());
        finalNorm = LayerNorm(config.Width, bias: config.Bias);
        head = config.TieEmbeddings ? null : new AutocastLinear(config.Width, config.VocabularySize, hasBias: false, InitStd);
        RegisterComponents();
    }

    internal override Tensor OutputWeight => head is null ? tokenEmbedding.weight! : head.Weight;

    internal override Tensor TokenEmbeddingWeight => tokenEmbedding.weight!;

    /// <summary>
    /// 6 FLOPs per multiplied parameter per token, plus attention's 12·L·C·T. Embedding tables are lookups, not
    /// matmuls, so they do not count, except the token table when the head multiplies by it.
    /// </summary>
    public override double TrainingFlopsPerToken
    {
        get
        {
            var lookups = (positionEmbedding?.weight!.numel() ?? 0) + (head is null ? 0 : tokenEmbedding.weight!.numel());
            return 6.0 * (ParameterCount - lookups) + 12.0 * Config.Layers * Config.Width * Config.ContextLength;
        }
    }

    public override Tensor forward(Tensor tokens)
    {
        var length = tokens.shape[1];
        if (length > Config.ContextLength)
            throw new ArgumentException($"The model reads at most {Config.ContextLength} tokens at once; got {length}.", nameof(tokens));
        var x = tokenEmbedding.call(tokens); // (B, T, C)
        if (positionEmbedding is not null)
            x = x + positionEmbedding.call(arange(length, device: tokens.device)); // (T, C) added to every sequence
        x = embeddingDropout.call(x);
        foreach (var block in blocks)
            x = block.call(x);
        x = finalNorm.call(x);
        return head is null
            ? ComputePrecision.Linear(x, tokenEmbedding.weight!, null, ComputeType) // (B, T, vocabulary)
            : head.call(x);
    }
}

/// <summary>A pre-norm transformer block: attention, then an MLP, each added to the residual stream.</summary>
internal sealed class Block : nn.Module<Tensor, Tensor>
{
    private readonly LayerNorm attentionNorm;
    private readonly CausalSelfAttention attention;
    private readonly LayerNorm mlpNorm;
    private readonly Mlp mlp;

    public Block(GptConfig config) : base(nameof(Block))
    {
        attentionNorm = LayerNorm(config.Width, bias: config.Bias);
        attention = new CausalSelfAttention(config);
        mlpNorm = LayerNorm(config.Width, bias: config.Bias);
        mlp = new Mlp(config);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        x = x + attention.call(attentionNorm.call(x));
        return x + mlp.call(mlpNorm.call(x));
    }
}

internal sealed class CausalSelfAttention : nn.Module<Tensor, Tensor>
{
    private readonly AutocastLinear queryKeyValue;
    private readonly AutocastLinear projection;
    private readonly Dropout residualDropout;
    private readonly RotaryEmbedding? rotary;
    private readonly int heads;
    private readonly double dropout;

    public CausalSelfAttention(GptConfig config) : base(nameof(CausalSelfAttention))
    {
        heads = config.Heads;
        dropout = config.Dropout;
        queryKeyValue = new AutocastLinear(config.Width, 3 * config.Width, config.Bias, Gpt.InitStd);
        projection = new AutocastLinear(config.Width, config.Width, config.Bias, Mlp.ResidualStd(config));
        residualDropout = Dropout(config.Dropout);
        if (config.Positions == PositionEncoding.Rotary)
            rotary = new RotaryEmbedding(config.HeadSize, config.ContextLength, config.RotaryBase);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        var (batch, length, width) = (x.shape[0], x.shape[1], x.shape[2]);
        var qkv = queryKeyValue.call(x).split(width, dim: 2); // 3 × (B, T, C)
        var query = qkv[0].view(batch, length, heads, width / heads).transpose(1, 2); // (B, nh, T, hs)
        var key = qkv[1].view(batch, length, heads, width / heads).transpose(1, 2); // (B, nh, T, hs)
        var value = qkv[2].view(batch, length, heads, width / heads).transpose(1, 2); // (B, nh, T, hs)
        if (rotary is not null)
        {
            query = rotary.call(query);
            key = rotary.call(key);
        }
        var y = functional.scaled_dot_product_attention(query, key, value, p: training ? dropout : 0, is_casual: true); // (B, nh, T, hs)
        y = y.transpose(1, 2).contiguous().view(batch, length, width); // (B, T, C)
        return residualDropout.call(projection.call(y));
    }
}

internal sealed class Mlp : nn.Module<Tensor, Tensor>
{
    private readonly AutocastLinear expand;
    private readonly GELU gelu;
    private readonly AutocastLinear projection;
    private readonly Dropout dropout;

    public Mlp(GptConfig config) : base(nameof(Mlp))
    {
        expand = new AutocastLinear(config.Width, 4 * config.Width, config.Bias, Gpt.InitStd);
        gelu = GELU();
        projection = new AutocastLinear(4 * config.Width, config.Width, config.Bias, ResidualStd(config));
        dropout = Dropout(config.Dropout);
        RegisterComponents();
    }

    /// <summary>GPT-2 scales the projections into the residual stream by 1/√(2·layers): each block adds two of them.</summary>
    public static double ResidualStd(GptConfig config) => Gpt.InitStd / Math.Sqrt(2.0 * config.Layers);

    public override Tensor forward(Tensor x) =>
        dropout.call(projection.call(gelu.call(expand.call(x)))); // (B, T, 4C) inside, (B, T, C) out
}

/// <summary>Rotary position embedding (RoFormer), rotate-half form: channel i is paired with channel i + hs/2.</summary>
internal sealed class RotaryEmbedding : nn.Module<Tensor, Tensor>
{
    private readonly Tensor cos;
    private readonly Tensor sin;

    public RotaryEmbedding(int headSize, int maxLength, double theta) : base(nameof(RotaryEmbedding))
    {
        using (var scope = NewDisposeScope())
        {
            var frequencies = pow(theta, -arange(0, headSize, 2, dtype: ScalarType.Float64) / headSize); // (hs/2)
            var angles = outer(arange(maxLength, dtype: ScalarType.Float64), frequencies); // (T, hs/2)
            var both = cat([angles, angles], dim: 1); // (T, hs)
            cos = both.cos().to(ScalarType.Float32).MoveToOuterDisposeScope();
            sin = both.sin().to(ScalarType.Float32).MoveToOuterDisposeScope();
        }
        // Derived from the config, so they follow the module to its device but stay out of checkpoints.
        register_buffer(nameof(cos), cos, persistent: false);
        register_buffer(nameof(sin), sin, persistent: false);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x) // (B, nh, T, hs)
    {
        var (length, half) = (x.shape[2], x.shape[3] / 2);
        var rotated = cat([-x.narrow(3, half, half), x.narrow(3, 0, half)], dim: 3); // (B, nh, T, hs)
        // to() is free when the tables already follow the module; it also covers TorchSharp versions that leave
        // non-persistent buffers behind when a module moves.
        var cosines = cos.narrow(0, 0, length).to(x.dtype, x.device); // (T, hs)
        var sines = sin.narrow(0, 0, length).to(x.dtype, x.device); // (T, hs)
        return x * cosines + rotated * sines;
    }
}
