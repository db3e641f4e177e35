using System.Diagnostics;
using Forge.Model;

namespace Forge.Bench.Trainer;

/// <summary>The same run through Forge: token shards on disk, TrainingLoop.Run with its events, Forge's Gpt.</summary>
public static class ForgeRun
{
    public static GptConfig Model(CharacterCorpus corpus, BenchSettings s) => new()
    {
        VocabularySize = corpus.VocabularySize,
        ContextLength = s.Block,
        Layers = s.Layers,
        Heads = s.Heads,
        Width = s.Width,
        Dropout = 0,
        Bias = false,
        TieEmbeddings = true,
        Positions = PositionEncoding.Learned,
    };

    public static TrainingConfig Training(BenchSettings s) => new()
    {
        BatchSize = s.BatchSize,
        MaxSteps = s.Iterations,
        LearningRate = 1e-3,
        MinLearningRate = 1e-4,
        WarmupSteps = 100,
        DecaySteps = 2000,
        WeightDecay = 0.1,
        Beta1 = 0.9,
        Beta2 = 0.99,
        GradientClip = 1.0,
        EvaluationInterval = s.EvaluationInterval,
        EvaluationBatches = s.EvaluationBatches,
        LogInterval = 250,
        Seed = 1337,
        Threads = s.Threads,
        Device = "cpu",
        Precision = "fp32",
    };

    public static RunResult Run(CharacterCorpus corpus, (string Train, string Validation) shards, BenchSettings settings, long seed, Action<string> log)
    {
        using var train = TokenDataset.Open(shards.Train);
        using var validation = TokenDataset.Open(shards.Validation);
        using var loop = new TrainingLoop(Model(corpus, settings), Training(settings) with { Seed = seed }, train, validation);
        var forge = new Recorder(loop, log);
        var summary = loop.Run();
        return forge.Result(summary.Elapsed, loop.Evaluate(validation, settings.FinalEvaluationBatches).Loss,
            FullValidation.Loss(loop.Model, corpus.Validation, settings.Block, settings.BatchSize));
    }

    /// <summary>
    /// Forge and the bare loop train side by side, one iteration each in turn (the bare iteration runs inside Forge's
    /// StepCompleted event, and is not counted in Forge's time), so both see the same machine load: on a shared
    /// machine this is the fair comparison.
    /// </summary>
    public static (RunResult Forge, RunResult Bare) RunInLockstep(CharacterCorpus corpus, (string Train, string Validation) shards, BenchSettings settings, long seed, Action<string> log)
    {
        using var train = TokenDataset.Open(shards.Train);
        using var validation = TokenDataset.Open(shards.Validation);
        using var loop = new TrainingLoop(Model(corpus, settings), Training(settings) with { Seed = seed }, train, validation);
        using var bare = new BareLoop(corpus, settings, seed);
        var bareTimes = new List<double>();
        var bareEvaluations = new List<(int, double)>();
        var forge = new Recorder(loop, log, (_, step) =>
        {
            var started = Stopwatch.GetTimestamp();
            bare.Step();
            bareTimes.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
            if (step.Step % settings.EvaluationInterval == 0 || step.Step == settings.Iterations)
                bareEvaluations.Add(((int)step.Step, bare.Evaluate(settings.EvaluationBatches)));
        });
        var summary = loop.Run();
        var forgeResult = forge.Result(TimeSpan.FromMilliseconds(forge.Times.Sum()), loop.Evaluate(validation, settings.FinalEvaluationBatches).Loss,
            FullValidation.Loss(loop.Model, corpus.Validation, settings.Block, settings.BatchSize));
        var bareResult = new RunResult("bare TorchSharp", bareTimes, TimeSpan.FromMilliseconds(bareTimes.Sum()), bareEvaluations,
            bare.Evaluate(settings.FinalEvaluationBatches), bare.FullValidationLoss(), bare.Parameters);
        return (forgeResult, bareResult);
    }

    /// <summary>Times each Forge step from the end of the previous one (its events included), leaving out evaluations and whatever <paramref name="between"/> does.</summary>
    private sealed class Recorder
    {
        private readonly TrainingLoop loop;
        private readonly List<(int, double)> evaluations = [];
        private long last = Stopwatch.GetTimestamp();

        public Recorder(TrainingLoop loop, Action<string> log, EventHandler<TrainingStep>? between = null)
        {
            this.loop = loop;
            loop.StepCompleted += (sender, step) =>
            {
                Times.Add(Stopwatch.GetElapsedTime(last).TotalMilliseconds);
                between?.Invoke(sender, step);
                last = Stopwatch.GetTimestamp();
            };
            loop.Evaluated += (_, e) =>
            {
                evaluations.Add(((int)e.Step, e.Loss));
                last = Stopwatch.GetTimestamp();
            };
            loop.ProgressReported += (_, p) =>
                log($"    forge step {p.Step,5}: loss {p.Loss:F4}, lr {p.LearningRate:E2}, {p.TokensPerSecond:F0} tokens/s, {p.FlopsPerSecond / 1e9:F1} GFLOP/s, ETA {p.Remaining:mm\\:ss}");
        }

        public List<double> Times { get; } = [];

        public RunResult Result(TimeSpan elapsed, double finalLoss, double fullLoss) =>
            new("Forge TrainingLoop", Times, elapsed, evaluations, finalLoss, fullLoss, loop.Model.ParameterCount);
    }
}
