using Forge.Model;
using TorchSharp;

namespace Forge.Bench.Trainer;

/// <summary>
/// Forge's TrainingLoop against the bare TorchSharp loop on tinyshakespeare, once per seed: per-iteration times, their
/// ratio and the validation losses of each pair, then <see cref="RepeatSummary"/> over all of them.
/// </summary>
public static class TrainerBenchmark
{
    public static void Run(string corpusPath, BenchSettings settings, Action<string> log)
    {
        TorchRuntime.ConfigureThreads(settings.Threads);
        var corpus = new CharacterCorpus(File.ReadAllText(corpusPath));
        var folder = Path.Combine(Path.GetTempPath(), $"forge-bench-trainer-{Environment.ProcessId}");
        var shards = corpus.WriteShards(folder);
        log($"tinyshakespeare: vocabulary {corpus.VocabularySize}, train {corpus.Train.Length:N0} tokens, validation {corpus.Validation.Length:N0}; {settings.Threads} threads, {torch.get_num_threads()} in libtorch");
        log($"shard reads: {ShardReadCost.NanosecondsPerToken(shards.Train, settings.Block):F2} ns/token for {settings.Block}-token windows");
        // Measured again after every repeat and the best kept: another process's burst can only lower a measurement.
        var peak = MatmulPeak.FlopsPerSecond();
        log($"matmul peak (1024³ fp32, best of 20): {peak / 1e9:F1} GFLOP/s");

        var runs = new List<(RunResult Bare, RunResult Forge)>();
        for (var repeat = 1; repeat <= settings.Repeats; repeat++)
        {
            var seed = settings.FirstSeed + repeat - 1L;
            log($"repeat {repeat}/{settings.Repeats}, seed {seed}, {(settings.Lockstep ? "in lockstep" : "one after the other")}");
            // One after the other, the loops alternate which goes first, so drift in machine load favours neither.
            var (bare, forge) = TrainBoth(corpus, shards, settings, seed, forgeFirst: repeat % 2 == 0, log);
            foreach (var run in new[] { bare, forge })
                log($"  {run.Name,-20} {run.MeanIterationMilliseconds,6:F2} ms/iter mean (p10 {run.Percentile(10):F2}, median {run.MedianIterationMilliseconds:F2}, p90 {run.Percentile(90):F2}), {run.Elapsed.TotalSeconds:F1} s training, val loss at {run.Evaluations[^1].Step}: {run.Evaluations[^1].Loss:F4} ({settings.EvaluationBatches} batches), {settings.FinalEvaluationBatches} batches: {run.FinalValidationLoss:F4}, whole split: {run.FullValidationLoss:F4}");
            log($"  Forge / bare time per iteration: mean {forge.MeanIterationMilliseconds / bare.MeanIterationMilliseconds:F3}, median {forge.MedianIterationMilliseconds / bare.MedianIterationMilliseconds:F3}");
            runs.Add((bare, forge));
            peak = Math.Max(peak, MatmulPeak.FlopsPerSecond());
        }

        RepeatSummary.Print(runs, ForgeRun.Model(corpus, settings), settings, peak, log);
        Directory.Delete(folder, recursive: true);
    }

    /// <summary>One seed of each loop: in lockstep, or one after the other with <paramref name="forgeFirst"/> saying which goes first.</summary>
    private static (RunResult Bare, RunResult Forge) TrainBoth(CharacterCorpus corpus, (string Train, string Validation) shards, BenchSettings settings, long seed, bool forgeFirst, Action<string> log)
    {
        if (settings.Lockstep)
        {
            var (forge, bare) = ForgeRun.RunInLockstep(corpus, shards, settings, seed, log);
            return (bare, forge);
        }
        if (forgeFirst)
        {
            var forge = ForgeRun.Run(corpus, shards, settings, seed, log);
            using var loop = new BareLoop(corpus, settings, seed);
            return (loop.Run(), forge);
        }
        RunResult bareFirst;
        using (var loop = new BareLoop(corpus, settings, seed))
            bareFirst = loop.Run();
        return (bareFirst, ForgeRun.Run(corpus, shards, settings, seed, log));
    }
}
