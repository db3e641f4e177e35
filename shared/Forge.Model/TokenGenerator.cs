using System.Buffers;
using static TorchSharp.torch;

namespace Forge.Model;

/// <summary>How to pick each next token. Temperature 0 is greedy (the most likely token, deterministic).</summary>
public sealed record GenerationOptions
{
    public int MaxNewTokens { get; init; } = 64;
    public double Temperature { get; init; }
    /// <summary>Sample only among the K most likely tokens (0: all).</summary>
    public int TopK { get; init; }
    /// <summary>Sample only among the most likely tokens whose probabilities add up to P (1: all).</summary>
    public double TopP { get; init; } = 1;
    public long Seed { get; init; } = 1;
    /// <summary>Generation ends after any of these tokens (it is included in the output).</summary>
    public IReadOnlyCollection<int> StopTokens { get; init; } = [];
}

/// <summary>
/// Autoregressive generation: the prompt is run through the model and one token is chosen at a time. The window is
/// the last ContextLength tokens, so once prompt and output outgrow the context it slides. Cached decoding reads the
/// prompt once and then one token per step; it gives the tokens the uncached loop gives, which recomputes the whole
/// window for every token and stays as the reference. A sliding window changes every position's past, so from
/// there on both paths recompute the window.
/// </summary>
public static class TokenGenerator
{
    /// <summary>Generation with cached decoding: the tokens <see cref="GenerateWithoutCache"/> gives, at a fraction of the cost.</summary>
    public static int[] Generate(LanguageModel model, IReadOnlyList<int> prompt, GenerationOptions options) =>
        [.. Stream(model, prompt, options, CancellationToken.None)];

    /// <summary>The reference loop: every token recomputes the whole window.</summary>
    public static int[] GenerateWithoutCache(LanguageModel model, IReadOnlyList<int> prompt, GenerationOptions options) =>
        [.. Run(model, Checked(prompt), options, useCache: false, CancellationToken.None)];

    /// <summary>
    /// <see cref="Generate"/> one token at a time, each yielded as soon as it is chosen. Cancelling ends the stream
    /// between two tokens, without an exception: the cancellation token tells a cancelled stream from a finished one.
    /// Every step enters its own dispose scope and no_grad and leaves both before yielding, so the consumer may move
    /// between threads from one token to the next. Threads that share a model must have put it in eval mode first.
    /// </summary>
    public static IEnumerable<int> Stream(LanguageModel model, IReadOnlyList<int> prompt, GenerationOptions options, CancellationToken cancellationToken) =>
        Run(model, Checked(prompt), options, useCache: true, cancellationToken);

    private static IReadOnlyList<int> Checked(IReadOnlyList<int> prompt) =>
        prompt.Count > 0 ? prompt : throw new ArgumentException("Generation needs at least one prompt token.", nameof(prompt));

    private static IEnumerable<int> Run(LanguageModel model, IReadOnlyList<int> prompt, GenerationOptions options, bool useCache, CancellationToken cancellationToken)
    {
        var device = model.parameters().First().device;
        var random = new Random(unchecked((int)options.Seed));
        var tokens = new List<long>(prompt.Count + options.MaxNewTokens);
        tokens.AddRange(prompt.Select(t => (long)t));
        // Switching modes changes the model for every thread that shares it, so a model already in eval is left alone.
        var wasTraining = model.training;
        if (wasTraining)
            model.eval();
        var state = useCache ? model.BeginDecoding() : null;
        try
        {
            for (var i = 0; i < options.MaxNewTokens && !cancellationToken.IsCancellationRequested; i++)
            {
                if (state is not null && tokens.Count > model.Config.ContextLength)
                {
                    state.Dispose();
                    state = null;
                }
                var next = Choose(NextLogits(model, state, tokens, device), options, random);
                tokens.Add(next);
                yield return next;
                if (options.StopTokens.Contains(next))
                    yield break;
            }
        }
        finally
        {
            state?.Dispose();
            if (wasTraining)
                model.train();
        }
    }

    /// <summary>The logits for the token after <paramref name="tokens"/>: from the state when there is one, else from the window.</summary>
    private static float[] NextLogits(LanguageModel model, DecodingState? state, List<long> tokens, Device device)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var start = state?.Position ?? Math.Max(0, tokens.Count - model.Config.ContextLength);
        var input = tensor(tokens.GetRange(start, tokens.Count - start), [1, tokens.Count - start], dtype: int64, device: device);
        var logits = state is null ? model.call(input) : model.Step(state, input); // (1, T, vocabulary)
        return logits[0, -1].to(ScalarType.Float32).cpu().data<float>().ToArray();
    }

    /// <summary>
    /// Greedy at temperature 0; otherwise softmax(logits / T), restricted by top-k and top-p, then one draw. Tokens are
    /// walked from the most likely down (ties in id order) and their weights summed in that order, so the token a
    /// given Random picks depends on that order; a radix sort finds it in a few passes over the vocabulary.
    /// </summary>
    public static int Choose(float[] logits, GenerationOptions options, Random random)
    {
        if (options.Temperature <= 0)
            return Array.IndexOf(logits, logits.Max());
        var order = ArrayPool<int>.Shared.Rent(logits.Length);
        var weights = ArrayPool<double>.Shared.Rent(logits.Length);
        try
        {
            SortMostLikelyFirst(logits, order);
            var count = options.TopK > 0 ? Math.Min(options.TopK, logits.Length) : logits.Length;
            var max = logits[order[0]];
            var total = 0.0;
            for (var i = 0; i < count; i++)
            {
                weights[i] = Math.Exp((logits[order[i]] - max) / options.Temperature);
                total += weights[i];
            }
            var kept = 0;
            var keptTotal = 0.0;
            var cumulative = 0.0;
            while (kept < count)
            {
                keptTotal += weights[kept];
                cumulative += weights[kept++] / total;
                if (cumulative >= options.TopP)
                    break;
            }
            var draw = random.NextDouble() * keptTotal;
            for (var i = 0; i < kept; i++)
            {
                draw -= weights[i];
                if (draw <= 0)
                    return order[i];
            }
            return order[kept - 1];
        }
        finally
        {
            ArrayPool<int>.Shared.Return(order);
            ArrayPool<double>.Shared.Return(weights);
        }
    }

    /// <summary>
    /// Writes the token ids into <paramref name="order"/> from the largest logit down, ties in id order: the stable
    /// descending sort that LINQ's OrderByDescending gives. A least-significant-digit radix sort, four stable passes of
    /// one byte over 32-bit keys, costs a few passes over the vocabulary instead of n·log n unpredictable comparisons.
    /// </summary>
    private static void SortMostLikelyFirst(float[] logits, int[] order)
    {
        const int Bits = 8;
        const int Buckets = 1 << Bits;
        const int Passes = 32 / Bits; // even, so the last pass writes into order
        var length = logits.Length;
        var keys = ArrayPool<uint>.Shared.Rent(length);
        var other = ArrayPool<int>.Shared.Rent(length);
        var starts = ArrayPool<int>.Shared.Rent(Passes * Buckets);
        try
        {
            Array.Clear(starts, 0, Passes * Buckets);
            for (var i = 0; i < length; i++)
            {
                var key = keys[i] = DescendingKey(logits[i]);
                order[i] = i;
                for (var pass = 0; pass < Passes; pass++)
                    starts[pass * Buckets + (int)((key >> (pass * Bits)) & (Buckets - 1))]++;
            }
            var (from, to) = (order, other);
            for (var pass = 0; pass < Passes; pass++)
            {
                var offset = pass * Buckets;
                var start = 0;
                for (var bucket = offset; bucket < offset + Buckets; bucket++)
                {
                    var count = starts[bucket];
                    starts[bucket] = start;
                    start += count;
                }
                for (var i = 0; i < length; i++)
                {
                    var id = from[i];
                    to[starts[offset + (int)((keys[id] >> (pass * Bits)) & (Buckets - 1))]++] = id;
                }
                (from, to) = (to, from);
            }
        }
        finally
        {
            ArrayPool<uint>.Shared.Return(keys);
            ArrayPool<int>.Shared.Return(other);
            ArrayPool<int>.Shared.Return(starts);
        }
    }

    /// <summary>
    /// A key that orders as <see cref="Comparer{T}.Default"/> orders floats, reversed: larger logits give smaller keys,
    /// −0 equals 0, and NaN, which that comparer puts below everything, gets the largest key.
    /// </summary>
    private static uint DescendingKey(float logit)
    {
        if (float.IsNaN(logit))
            return uint.MaxValue;
        var bits = BitConverter.SingleToUInt32Bits(logit + 0f); // −0 + 0 is +0
        var ascending = (bits & 0x8000_0000u) == 0 ? bits | 0x8000_0000u : ~bits; // a negative float's magnitude bits count down
        return ~ascending;
    }
}
