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
/// Autoregressive generation: the prompt (cropped to the model's context) is run through the model and one token is
/// chosen at a time. This version recomputes the whole window for every token; the inference service's KV cache
/// (issue 7) replaces that loop without changing the tokens chosen.
/// </summary>
public static class TokenGenerator
{
    public static int[] Generate(LanguageModel model, IReadOnlyList<int> prompt, GenerationOptions options)
    {
        if (prompt.Count == 0)
            throw new ArgumentException("Generation needs at least one prompt token.", nameof(prompt));
        var device = model.parameters().First().device;
        var context = model.Config.ContextLength;
        var random = new Random(unchecked((int)options.Seed));
        var tokens = new List<long>(prompt.Select(t => (long)t));
        var generated = new List<int>(options.MaxNewTokens);
        var wasTraining = model.training;
        model.eval();
        try
        {
            using var noGrad = no_grad();
            for (var i = 0; i < options.MaxNewTokens; i++)
            {
                using var scope = NewDisposeScope();
                var window = tokens.Skip(Math.Max(0, tokens.Count - context)).ToArray();
                var input = tensor(window, [1, window.Length], dtype: int64, device: device);
                var logits = model.call(input)[0, -1].to(ScalarType.Float32).cpu(); // (vocabulary)
                var next = Choose(logits.data<float>().ToArray(), options, random);
                tokens.Add(next);
                generated.Add(next);
                if (options.StopTokens.Contains(next))
                    break;
            }
        }
        finally
        {
            model.train(wasTraining);
        }
        return [.. generated];
    }

    /// <summary>Greedy at temperature 0; otherwise softmax(logits / T), restricted by top-k and top-p, then one draw.</summary>
    public static int Choose(float[] logits, GenerationOptions options, Random random)
    {
        if (options.Temperature <= 0)
            return Array.IndexOf(logits, logits.Max());
        var order = Enumerable.Range(0, logits.Length).OrderByDescending(i => logits[i]).ToArray();
        if (options.TopK > 0)
            order = order[..Math.Min(options.TopK, order.Length)];
        var max = logits[order[0]];
        var weights = order.Select(i => Math.Exp((logits[i] - max) / options.Temperature)).ToArray();
        var total = weights.Sum();
        var kept = 0;
        var cumulative = 0.0;
        while (kept < order.Length)
        {
            cumulative += weights[kept++] / total;
            if (cumulative >= options.TopP)
                break;
        }
        var keptTotal = weights[..kept].Sum();
        var draw = random.NextDouble() * keptTotal;
        for (var i = 0; i < kept; i++)
        {
            draw -= weights[i];
            if (draw <= 0)
                return order[i];
        }
        return order[kept - 1];
    }
}
