using System.Diagnostics;
using Forge.Model;
using TorchSharp;
using static TorchSharp.torch;

namespace Forge.Model.Tests;

public sealed class TrainingLoopTests : IDisposable
{
    private readonly TinyCorpus corpus = new();

    public void Dispose() => corpus.Dispose();

    private TrainingLoop NewLoop(GptConfig model, TrainingConfig training, out TokenDataset train, out TokenDataset validation)
    {
        train = corpus.OpenTrain();
        validation = corpus.OpenValidation();
        return new TrainingLoop(model, training, train, validation);
    }

    /// <summary>
    /// The corpus repeats a 48-token period, so a model that has learned it predicts every token whose window holds
    /// enough context; only the first few positions of a window stay uncertain. Untrained, the loss is ln 12 ≈ 2.48.
    /// </summary>
    private const double LearnedByHeart = 0.25;

    [Fact]
    public void ATinyGptLearnsATinyCorpusByHeart()
    {
        using var loop = NewLoop(Tiny.Gpt(corpus.VocabularySize), Tiny.Training(250), out var train, out var validation);
        using (train)
        using (validation)
        {
            var before = loop.Evaluate().Loss;
            loop.Run();

            Assert.True(before > 2.0, $"an untrained model should be near ln 12, got {before}");
            Assert.True(loop.Evaluate().Loss < LearnedByHeart, $"validation loss {loop.Evaluate().Loss}");
        }
    }

    [Fact]
    public void ATinyLstmLearnsATinyCorpusByHeart()
    {
        using var loop = NewLoop(Tiny.Lstm(corpus.VocabularySize), Tiny.Training(250), out var train, out var validation);
        using (train)
        using (validation)
        {
            loop.Run();

            Assert.True(loop.Evaluate().Loss < LearnedByHeart, $"validation loss {loop.Evaluate().Loss}");
        }
    }

    [Theory]
    [InlineData(PositionEncoding.Learned)]
    [InlineData(PositionEncoding.Rotary)]
    public void LearnedAndRotaryPositionsBothTrain(PositionEncoding positions)
    {
        using var loop = NewLoop(Tiny.Gpt(corpus.VocabularySize) with { Positions = positions, TieEmbeddings = false, Bias = false }, Tiny.Training(120), out var train, out var validation);
        using (train)
        using (validation)
        {
            var before = loop.Evaluate().Loss;
            loop.Run();
            var after = loop.Evaluate().Loss;

            Assert.True(after < before / 4, $"{positions}: {before} → {after}");
        }
    }

    [Fact]
    public void TheSameSeedRepeatsARunExactly()
    {
        double[] Run()
        {
            using var loop = NewLoop(Tiny.Gpt(corpus.VocabularySize) with { Dropout = 0.1 }, Tiny.Training(15), out var train, out var validation);
            using (train)
            using (validation)
            {
                var losses = new List<double>();
                loop.StepCompleted += (_, step) => losses.Add(step.Loss);
                loop.Run();
                return [.. losses];
            }
        }

        Assert.Equal(Run(), Run());
    }

    [Fact]
    public void GradientAccumulationOverTwoHalfBatchesMatchesOneFullBatch()
    {
        // The sampler draws the same windows either way: 8 at once, or 4 then 4.
        (double Loss, float[] Weights) OneStep(int batchSize, int accumulation)
        {
            using var loop = NewLoop(Tiny.Gpt(corpus.VocabularySize), Tiny.Training(4) with { BatchSize = batchSize, GradientAccumulationSteps = accumulation }, out var train, out var validation);
            using (train)
            using (validation)
            {
                var step = loop.TrainStep();
                return (step.Loss, loop.Model.TokenEmbeddingWeight.data<float>().ToArray());
            }
        }

        var full = OneStep(8, 1);
        var halves = OneStep(4, 2);

        Assert.Equal(full.Loss, halves.Loss, 1e-5);
        Assert.All(full.Weights.Zip(halves.Weights), w => Assert.Equal(w.First, w.Second, 1e-5f));
    }

    [Fact]
    public void MemoryStaysFlatOverManySteps()
    {
        using var loop = NewLoop(Tiny.Gpt(corpus.VocabularySize) with { Dropout = 0.1 }, Tiny.Training(600) with { EvaluationInterval = 50 }, out var train, out var validation);
        using (train)
        using (validation)
        {
            loop.RunUntil(50);
            GC.Collect();
            GC.WaitForPendingFinalizers();
            var tensors = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
            var resident = Process.GetCurrentProcess().WorkingSet64;

            loop.RunUntil(600);
            GC.Collect();
            GC.WaitForPendingFinalizers();

            Assert.Equal(tensors, DisposeScopeManager.Statistics.ThreadTotalLiveCount);
            var growth = Process.GetCurrentProcess().WorkingSet64 - resident;
            Assert.True(growth < 32 << 20, $"the process grew by {growth >> 20} MiB over 550 steps");
        }
    }

    [Fact]
    public void ProgressEvaluationsAndCheckpointsComeAtTheirIntervals()
    {
        var training = Tiny.Training(25) with { LogInterval = 10, EvaluationInterval = 10, CheckpointInterval = 20 };
        using var loop = NewLoop(Tiny.Gpt(corpus.VocabularySize), training, out var train, out var validation);
        using (train)
        using (validation)
        {
            var progress = new List<TrainingProgress>();
            var evaluations = new List<EvaluationResult>();
            var checkpoints = new List<long>();
            loop.ProgressReported += (_, p) => progress.Add(p);
            loop.Evaluated += (_, e) => evaluations.Add(e);
            loop.CheckpointDue += (_, step) => checkpoints.Add(step);

            var summary = loop.Run();

            Assert.Equal(new long[] { 10, 20, 25 }, progress.Select(p => p.Step));
            Assert.All(progress, p => Assert.True(p.TokensPerSecond > 0 && p.FlopsPerSecond > 0 && p.Loss > 0 && p.LearningRate > 0));
            Assert.Equal(TimeSpan.Zero, progress[^1].Remaining);
            Assert.True(progress[0].Remaining > TimeSpan.Zero);
            Assert.Equal(new long[] { 10, 20, 25 }, evaluations.Select(e => e.Step));
            Assert.All(evaluations, e => Assert.Equal(Math.Exp(e.Loss), e.Perplexity, 1e-9));
            Assert.Equal(new long[] { 20 }, checkpoints);
            Assert.Equal(25, summary.Step);
            Assert.Same(evaluations[^1], summary.LastEvaluation);
            Assert.Equal(25 * 8 * 16, loop.TokensSeen);
        }
    }

    [Fact]
    public void CancellationStopsBetweenSteps()
    {
        using var loop = NewLoop(Tiny.Gpt(corpus.VocabularySize), Tiny.Training(100), out var train, out var validation);
        using (train)
        using (validation)
        {
            using var cancellation = new CancellationTokenSource();
            loop.StepCompleted += (_, step) =>
            {
                if (step.Step == 5)
                    cancellation.Cancel();
            };

            Assert.Throws<OperationCanceledException>(() => loop.Run(cancellation.Token));
            Assert.Equal(5, loop.Step);
        }
    }

    [Fact]
    public void TheLearningRateFollowsTheScheduleAndGradientsAreClipped()
    {
        var training = Tiny.Training(30) with { GradientClip = 1e-3 };
        using var loop = NewLoop(Tiny.Gpt(corpus.VocabularySize), training, out var train, out var validation);
        using (train)
        using (validation)
        {
            var steps = new List<TrainingStep>();
            loop.StepCompleted += (_, step) => steps.Add(step);
            loop.Run();

            var schedule = LearningRateSchedule.From(training);
            Assert.Equal(Enumerable.Range(0, 30).Select(s => schedule.At(s)), steps.Select(s => s.LearningRate));
            Assert.All(steps, s => Assert.True(s.GradientNorm > 1e-3, "the norm is reported before clipping"));
        }
    }

    [SkippableFact]
    public void Bf16ComputeTrainsOnTheCpu()
    {
        Skip.IfNot(TorchRuntime.ProbeBf16(CPU), "This CPU build cannot multiply bf16 matrices.");
        using var loop = NewLoop(Tiny.Gpt(corpus.VocabularySize), Tiny.Training(20) with { Precision = "bf16" }, out var train, out var validation);
        using (train)
        using (validation)
        {
            var summary = loop.Run();

            Assert.Equal(ScalarType.BFloat16, loop.Model.ComputeType);
            Assert.True(summary.LastLoss < 2.4, $"loss {summary.LastLoss}");
        }
    }
}
