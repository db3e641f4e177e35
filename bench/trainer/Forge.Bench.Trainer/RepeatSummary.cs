using System.Globalization;
using Forge.Model;

namespace Forge.Bench.Trainer;

/// <summary>
/// The spread over all repeats of times, time ratios, validation losses and model FLOP/s (MFU against the best matmul
/// rate seen), each as median, min and max.
/// </summary>
public static class RepeatSummary
{
    public static void Print(IReadOnlyList<(RunResult Bare, RunResult Forge)> runs, GptConfig model, BenchSettings settings, double peak, Action<string> log)
    {
        using var gpt = new Gpt(model);
        var flopsPerIteration = gpt.TrainingFlopsPerToken * settings.BatchSize * settings.Block;
        log("");
        log($"model: {gpt.ParameterCount:N0} parameters, {flopsPerIteration / 1e9:F2} GFLOP per iteration (6N + 12·L·C·T per token)");
        log($"bare  ms/iter: {Spread(runs.Select(r => r.Bare.MeanIterationMilliseconds), "F2")}");
        log($"forge ms/iter: {Spread(runs.Select(r => r.Forge.MeanIterationMilliseconds), "F2")}");
        log($"forge / bare (means):   {Spread(runs.Select(r => r.Forge.MeanIterationMilliseconds / r.Bare.MeanIterationMilliseconds), "F3")}");
        log($"forge / bare (medians): {Spread(runs.Select(r => r.Forge.MedianIterationMilliseconds / r.Bare.MedianIterationMilliseconds), "F3")}");
        log($"forge val loss at step {settings.Iterations} ({settings.EvaluationBatches} batches, as nanoGPT reports it): {Spread(runs.Select(r => r.Forge.Evaluations[^1].Loss), "F4")}");
        log($"bare  val loss at step {settings.Iterations} ({settings.EvaluationBatches} batches): {Spread(runs.Select(r => r.Bare.Evaluations[^1].Loss), "F4")}");
        log($"forge final validation loss ({settings.FinalEvaluationBatches} batches): {Spread(runs.Select(r => r.Forge.FinalValidationLoss), "F4")}");
        log($"bare  final validation loss ({settings.FinalEvaluationBatches} batches): {Spread(runs.Select(r => r.Bare.FinalValidationLoss), "F4")}");
        log($"forge validation loss on the whole split: {Spread(runs.Select(r => r.Forge.FullValidationLoss), "F4")}, mean {runs.Average(r => r.Forge.FullValidationLoss):F4}");
        log($"bare  validation loss on the whole split: {Spread(runs.Select(r => r.Bare.FullValidationLoss), "F4")}, mean {runs.Average(r => r.Bare.FullValidationLoss):F4}");
        foreach (var (name, milliseconds) in new[] { ("forge", runs.Select(r => r.Forge.MedianIterationMilliseconds)), ("bare ", runs.Select(r => r.Bare.MedianIterationMilliseconds)) })
        {
            var flops = milliseconds.Select(ms => flopsPerIteration / (ms / 1000)).ToArray();
            log($"{name} model FLOP/s at the median iteration: {Spread(flops.Select(f => f / 1e9), "F1")} G; MFU against the best 1024³ matmul seen ({peak / 1e9:F1} GFLOP/s): {Spread(flops.Select(f => 100 * f / peak), "F1")} %");
        }
    }

    private static string Spread(IEnumerable<double> values, string format)
    {
        var sorted = values.Order().ToArray();
        return $"median {sorted[sorted.Length / 2].ToString(format, CultureInfo.InvariantCulture)} (min {sorted[0].ToString(format, CultureInfo.InvariantCulture)}, max {sorted[^1].ToString(format, CultureInfo.InvariantCulture)})";
    }
}
