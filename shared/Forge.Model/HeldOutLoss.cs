using TorchSharp;
using static TorchSharp.torch;

namespace Forge.Model;

/// <summary>The summed negative log-likelihood (nats) of a model over every token of some shards, and how many tokens it covers.</summary>
public sealed record HeldOutResult(double SumNll, long Tokens)
{
    public double MeanLoss => Tokens == 0 ? double.NaN : SumNll / Tokens;
}

/// <summary>
/// Token-weighted loss on held-out data: every token of every shard is predicted exactly once, from consecutive
/// non-overlapping windows of the model's context (the last window of a shard may be shorter), so the result is the
/// data's perplexity, not an estimate from random windows.
/// </summary>
public static class HeldOutLoss
{
    public static HeldOutResult Measure(LanguageModel model, TokenDataset data, int batchSize = 8, long maxTokens = long.MaxValue)
    {
        var context = model.Config.ContextLength;
        var device = model.parameters().First().device;
        var wasTraining = model.training;
        model.eval();
        try
        {
            using var noGrad = no_grad();
            double sum = 0;
            long tokens = 0;
            foreach (var shard in data.Shards)
            {
                var windows = new List<long>();
                for (long start = 0; start + 1 < shard.Count && tokens + (windows.Count * (long)context) < maxTokens; start += context)
                    windows.Add(start);
                foreach (var group in windows.GroupBy(start => Math.Min(context, shard.Count - 1 - start)))
                {
                    var length = group.Key;
                    foreach (var batch in group.Chunk(batchSize))
                    {
                        using var scope = NewDisposeScope();
                        var inputs = new long[batch.Length * length];
                        var targets = new long[batch.Length * length];
                        var window = new long[length + 1];
                        for (var b = 0; b < batch.Length; b++)
                        {
                            shard.Read(batch[b], window);
                            Array.Copy(window, 0, inputs, b * length, length);
                            Array.Copy(window, 1, targets, b * length, length);
                        }
                        var x = tensor(inputs, [batch.Length, length], dtype: int64, device: device);
                        var y = tensor(targets, [batch.Length, length], dtype: int64, device: device);
                        var mean = model.Loss(x, y).item<float>();
                        sum += (double)mean * inputs.Length;
                        tokens += inputs.Length;
                    }
                }
            }
            return new HeldOutResult(sum, tokens);
        }
        finally
        {
            model.train(wasTraining);
        }
    }
}
