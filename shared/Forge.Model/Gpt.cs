using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Forge.Model;

/// <summary>
/// A GPT-2 style decoder-only transformer, after nanoGPT's model.py: pre-norm blocks, GELU MLP, causal attention through
/// scaled_dot_product_attention, learned or rotary positions, optionally tied input and output embeddings. Cached
/// decoding keeps every layer's keys and values per request, so a new token costs one position, not the whole window.
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
        var x = Embed(tokens, 0);
        foreach (var block in blocks)
            x = block.call(x);
        return Head(x);
    }

    public override DecodingState BeginDecoding() => new GptDecodingState(this, Config.Layers, Config.ContextLength);

    internal override Tensor Decode(DecodingState state, Tensor tokens)
    {
        var layers = ((GptDecodingState)state).Layers;
        var x = Embed(tokens, state.Position);
        for (var i = 0; i < layers.Length; i++)
            x = blocks[i].Decode(x, layers[i], state.Position);
        return Head(x);
    }

    /// <summary>Token embeddings of positions offset, offset + 1, …, plus their learned position embeddings.</summary>
    private Tensor Embed(Tensor tokens, long offset)
    {
        var x = tokenEmbedding.call(tokens); // (B, T, C)
        if (positionEmbedding is not null)
            x = x + positionEmbedding.call(arange(offset, offset + tokens.shape[1], device: tokens.device)); // (T, C) added to every sequence
        return embeddingDropout.call(x);
    }

    private Tensor Head(Tensor x)
    {
        x = finalNorm.call(x);
        return head is null
            ? ComputePrecision.Linear(x, tokenEmbedding.weight!, null, ComputeType) // (B, T, vocabulary)
            : head.call(x);
    }
}

/// <summary>A GPT's cached decoding: every layer's keys and values for the tokens read so far.</summary>
internal sealed class GptDecodingState : DecodingState
{
    public GptDecodingState(Gpt model, int layers, int contextLength) : base(model) =>
        Layers = [.. Enumerable.Range(0, layers).Select(_ => new KeyValueCache(contextLength))];

    public KeyValueCache[] Layers { get; }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
            foreach (var layer in Layers)
                layer.Dispose();
    }
}

/// <summary>
/// One attention layer's keys and values for one request. Each step writes its keys into place and attends over a view
/// of the filled part, so the past is not copied at every step; the buffer doubles when full (up to the context), so a
/// short request holds little memory and the past is copied only a logarithmic number of times.
/// </summary>
internal sealed class KeyValueCache(int contextLength) : IDisposable
{
    private const int FirstCapacity = 64;

    private Tensor? keys; // (B, nh, capacity, hs)
    private Tensor? values; // (B, nh, capacity, hs)

    /// <summary>Stores this step's keys and values (B, nh, T, hs) at positions offset…offset + T − 1; returns all of 0…offset + T − 1.</summary>
    public (Tensor Keys, Tensor Values) Append(Tensor key, Tensor value, long offset)
    {
        if (keys is not null && key.shape[0] != keys.shape[0])
            throw new ArgumentException($"This decoding state was begun with {keys.shape[0]} sequences, not {key.shape[0]}.", nameof(key));
        var length = key.shape[2];
        keys = Reserve(keys, key, offset, offset + length);
        values = Reserve(values, value, offset, offset + length);
        keys.narrow(2, offset, length).copy_(key);
        values.narrow(2, offset, length).copy_(value);
        // A prompt read into an empty cache attends over its own keys, exactly as forward does.
        return offset == 0 ? (key, value) : (keys.narrow(2, 0, offset + length), values.narrow(2, 0, offset + length)); // (B, nh, offset + T, hs)
    }

    /// <summary>A buffer with room for <paramref name="needed"/> positions whose first <paramref name="filled"/> are those of <paramref name="buffer"/>.</summary>
    private Tensor Reserve(Tensor? buffer, Tensor like, long filled, long needed)
    {
        var capacity = buffer?.shape[2] ?? 0;
        if (capacity >= needed)
            return buffer!;
        capacity = Math.Min(contextLength, Math.Max(needed, Math.Max(FirstCapacity, 2 * capacity)));
        var grown = empty([like.shape[0], like.shape[1], capacity, like.shape[3]], like.dtype, like.device).DetachFromDisposeScope();
        if (buffer is not null)
        {
            grown.narrow(2, 0, filled).copy_(buffer.narrow(2, 0, filled));
            buffer.Dispose();
        }
        return grown;
    }

    public void Dispose()
    {
        keys?.Dispose();
        values?.Dispose();
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

    /// <summary>The block for tokens at positions offset, offset + 1, …, attending over the cached past too.</summary>
    public Tensor Decode(Tensor x, KeyValueCache cache, long offset)
    {
        x = x + attention.Decode(attentionNorm.call(x), cache, offset);
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

    public override Tensor forward(Tensor x) => Attend(x, null, 0);

    public Tensor Decode(Tensor x, KeyValueCache cache, long offset) => Attend(x, cache, offset);

    /// <summary>Attention for tokens at positions offset, offset + 1, …: over each other and, with a cache, over the cached past.</summary>
    private Tensor Attend(Tensor x, KeyValueCache? cache, long offset)
    {
        var (batch, length, width) = (x.shape[0], x.shape[1], x.shape[2]);
        var qkv = queryKeyValue.call(x).split(width, dim: 2); // 3 × (B, T, C)
        var query = qkv[0].view(batch, length, heads, width / heads).transpose(1, 2); // (B, nh, T, hs)
        var key = qkv[1].view(batch, length, heads, width / heads).transpose(1, 2); // (B, nh, T, hs)
        var value = qkv[2].view(batch, length, heads, width / heads).transpose(1, 2); // (B, nh, T, hs)
        if (rotary is not null)
        {
            query = rotary.Rotate(query, offset);
            key = rotary.Rotate(key, offset);
        }
        var (keys, values) = cache?.Append(key, value, offset) ?? (key, value); // (B, nh, offset + T, hs)
        var rate = training ? dropout : 0;
        // is_casual aligns its mask to the top left, which is right only when queries and keys start at the same
        // position. One new token sees every cached one and needs no mask; several after a cached past need theirs spelled out.
        var y = offset == 0 ? functional.scaled_dot_product_attention(query, keys, values, p: rate, is_casual: true)
            : length == 1 ? functional.scaled_dot_product_attention(query, keys, values, p: rate)
            : functional.scaled_dot_product_attention(query, keys, values, CausalMaskAfter(offset, length, x.device), rate); // (B, nh, T, hs)
        y = y.transpose(1, 2).contiguous().view(batch, length, width); // (B, T, C)
        return residualDropout.call(projection.call(y));
    }

    /// <summary>(T, offset + T), true where the query at position offset + i may see the key at position j: j ≤ offset + i.</summary>
    private static Tensor CausalMaskAfter(long offset, long length, Device device) =>
        arange(offset + length, device: device).unsqueeze(0) <= arange(offset, offset + length, device: device).unsqueeze(1);
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

    public override Tensor forward(Tensor x) => Rotate(x, 0);

    /// <summary>Rotates x (B, nh, T, hs) as the tokens at positions offset, offset + 1, …, offset + T − 1.</summary>
    public Tensor Rotate(Tensor x, long offset)
    {
        var (length, half) = (x.shape[2], x.shape[3] / 2);
        var rotated = cat([-x.narrow(3, half, half), x.narrow(3, 0, half)], dim: 3); // (B, nh, T, hs)
        // to() is free when the tables already follow the module; it also covers TorchSharp versions that leave
        // non-persistent buffers behind when a module moves.
        var cosines = cos.narrow(0, offset, length).to(x.dtype, x.device); // (T, hs)
        var sines = sin.narrow(0, offset, length).to(x.dtype, x.device); // (T, hs)
        return x * cosines + rotated * sines;
    }
}
