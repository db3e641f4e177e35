using System.Globalization;
using Forge.Bench.Trainer;
using Forge.Model;
using TorchSharp;

// dotnet run -c Release --project bench/trainer/Forge.Bench.Trainer -- <tinyshakespeare.txt> [--repeats N] [--iterations N] [--threads N] [--first-seed N] [--sequential]
if (args.Length < 1 || !File.Exists(args[0]))
{
    Console.Error.WriteLine("usage: Forge.Bench.Trainer <tinyshakespeare.txt> [--repeats 3] [--iterations 2000] [--threads 2] [--first-seed 1337] [--sequential]");
    return 2;
}
int Option(string name, int fallback)
{
    var at = Array.IndexOf(args, name);
    return at >= 0 && at + 1 < args.Length ? int.Parse(args[at + 1], CultureInfo.InvariantCulture) : fallback;
}
var settings = new BenchSettings { Repeats = Option("--repeats", 3), Iterations = Option("--iterations", 2000), Threads = Option("--threads", 2) };
void Log(string line) => Console.WriteLine(line);

TorchRuntime.ConfigureThreads(settings.Threads);
var corpus = new CharacterCorpus(File.ReadAllText(args[0]));
var folder = Path.Combine(Path.GetTempPath(), $"forge-bench-trainer-{Environment.ProcessId}");
var shards = corpus.WriteShards(folder);
Log($"tinyshakespeare: vocabulary {corpus.VocabularySize}, train {corpus.Train.Length:N0} tokens, validation {corpus.Validation.Length:N0}; {settings.Threads} threads, {torch.get_num_threads()} in libtorch");
Log($"shard reads: {ShardReadCost.NanosecondsPerToken(shards.Train, settings.Block):F2} ns/token for {settings.Block}-token windows");
// Measured again after every repeat and the best kept: another process's burst can only lower a measurement.
var peak = MatmulPeak.FlopsPerSecond();
Log($"matmul peak (1024³ fp32, best of 20): {peak / 1e9:F1} GFLOP/s");

var lockstep = !args.Contains("--sequential");
var runs = new List<(RunResult Bare, RunResult Forge)>();
for (var repeat = 1; repeat <= settings.Repeats; repeat++)
{
    var seed = Option("--first-seed", 1337) + repeat - 1L;
    Log($"repeat {repeat}/{settings.Repeats}, seed {seed}, {(lockstep ? "in lockstep" : "one after the other")}");
    RunResult bare, forge;
    if (lockstep)
    {
        (forge, bare) = ForgeRun.RunInLockstep(corpus, shards, settings, seed, Log);
    }
    else if (repeat % 2 == 1) // alternate which goes first, so drift in machine load favours neither
    {
        using (var loop = new BareLoop(corpus, settings, seed))
            bare = loop.Run();
        forge = ForgeRun.Run(corpus, shards, settings, seed, Log);
    }
    else
    {
        forge = ForgeRun.Run(corpus, shards, settings, seed, Log);
        using var loop = new BareLoop(corpus, settings, seed);
        bare = loop.Run();
    }
    foreach (var run in new[] { bare, forge })
        Log($"  {run.Name,-20} {run.MeanIterationMilliseconds,6:F2} ms/iter mean (p10 {run.Percentile(10):F2}, median {run.MedianIterationMilliseconds:F2}, p90 {run.Percentile(90):F2}), {run.Elapsed.TotalSeconds:F1} s training, val loss at {run.Evaluations[^1].Step}: {run.Evaluations[^1].Loss:F4} ({settings.EvaluationBatches} batches), {settings.FinalEvaluationBatches} batches: {run.FinalValidationLoss:F4}, whole split: {run.FullValidationLoss:F4}");
    Log($"  Forge / bare time per iteration: mean {forge.MeanIterationMilliseconds / bare.MeanIterationMilliseconds:F3}, median {forge.MedianIterationMilliseconds / bare.MedianIterationMilliseconds:F3}");
    runs.Add((bare, forge));
    peak = Math.Max(peak, MatmulPeak.FlopsPerSecond());
}

var model = ForgeRun.Model(corpus, settings);
using var gpt = new Gpt(model);
var flopsPerIteration = gpt.TrainingFlopsPerToken * settings.BatchSize * settings.Block;
string Spread(IEnumerable<double> values, string format)
{
    var sorted = values.Order().ToArray();
    return $"median {sorted[sorted.Length / 2].ToString(format, CultureInfo.InvariantCulture)} (min {sorted[0].ToString(format, CultureInfo.InvariantCulture)}, max {sorted[^1].ToString(format, CultureInfo.InvariantCulture)})";
}
Log("");
Log($"model: {gpt.ParameterCount:N0} parameters, {flopsPerIteration / 1e9:F2} GFLOP per iteration (6N + 12·L·C·T per token)");
Log($"bare  ms/iter: {Spread(runs.Select(r => r.Bare.MeanIterationMilliseconds), "F2")}");
Log($"forge ms/iter: {Spread(runs.Select(r => r.Forge.MeanIterationMilliseconds), "F2")}");
Log($"forge / bare (means):   {Spread(runs.Select(r => r.Forge.MeanIterationMilliseconds / r.Bare.MeanIterationMilliseconds), "F3")}");
Log($"forge / bare (medians): {Spread(runs.Select(r => r.Forge.MedianIterationMilliseconds / r.Bare.MedianIterationMilliseconds), "F3")}");
Log($"forge val loss at step {settings.Iterations} ({settings.EvaluationBatches} batches, as nanoGPT reports it): {Spread(runs.Select(r => r.Forge.Evaluations[^1].Loss), "F4")}");
Log($"bare  val loss at step {settings.Iterations} ({settings.EvaluationBatches} batches): {Spread(runs.Select(r => r.Bare.Evaluations[^1].Loss), "F4")}");
Log($"forge final validation loss ({settings.FinalEvaluationBatches} batches): {Spread(runs.Select(r => r.Forge.FinalValidationLoss), "F4")}");
Log($"bare  final validation loss ({settings.FinalEvaluationBatches} batches): {Spread(runs.Select(r => r.Bare.FinalValidationLoss), "F4")}");
Log($"forge validation loss on the whole split: {Spread(runs.Select(r => r.Forge.FullValidationLoss), "F4")}, mean {runs.Average(r => r.Forge.FullValidationLoss):F4}");
Log($"bare  validation loss on the whole split: {Spread(runs.Select(r => r.Bare.FullValidationLoss), "F4")}, mean {runs.Average(r => r.Bare.FullValidationLoss):F4}");
foreach (var (name, milliseconds) in new[] { ("forge", runs.Select(r => r.Forge.MedianIterationMilliseconds)), ("bare ", runs.Select(r => r.Bare.MedianIterationMilliseconds)) })
{
    var flops = milliseconds.Select(ms => flopsPerIteration / (ms / 1000)).ToArray();
    Log($"{name} model FLOP/s at the median iteration: {Spread(flops.Select(f => f / 1e9), "F1")} G; MFU against the best 1024³ matmul seen ({peak / 1e9:F1} GFLOP/s): {Spread(flops.Select(f => 100 * f / peak), "F1")} %");
}
Directory.Delete(folder, recursive: true);
return 0;
