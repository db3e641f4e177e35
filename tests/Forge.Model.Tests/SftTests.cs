using System.Diagnostics;
using Forge.Model;
using Forge.Testing;
using TorchSharp;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace Forge.Model.Tests;

/// <summary>
/// Supervised fine-tuning: rows that mask everything but the completion, a loop that starts from a base checkpoint,
/// replay of plain windows, and exact resume. The task is reversal: letters 0..7, '=' is 8 and the end token 9, so
/// the prompt "abc=" (0 1 2 8) has the completion "cba" (2 1 0) then 9.
/// </summary>
public sealed class SftTests(ITestOutputHelper output) : IDisposable
{
    private const int Letters = 8;
    private const int Separator = 8;
    private const int End = 9;
    private const int Vocabulary = 10;
    private const long Ignored = LanguageModel.IgnoredTarget;

    private readonly TinyCorpus corpus = new(distinctCharacters: Vocabulary);
    private readonly TemporaryFolder folder = new("sft");

    public void Dispose()
    {
        corpus.Dispose();
        folder.Dispose();
    }

    private static (long[] Inputs, long[] Targets) Row(SftExample example, int? endToken, int contextLength)
    {
        var inputs = new long[contextLength];
        var targets = new long[contextLength];
        SftBatchSampler.Write(example, endToken, inputs, targets);
        return (inputs, targets);
    }

    /// <summary>Every reversal example of three letters, in a fixed shuffled order.</summary>
    private static SftExample[] Reversals()
    {
        var all = new List<SftExample>();
        for (var a = 0; a < Letters; a++)
            for (var b = 0; b < Letters; b++)
                for (var c = 0; c < Letters; c++)
                    all.Add(new SftExample([a, b, c, Separator], [c, b, a]));
        var random = new Random(3);
        return [.. all.OrderBy(_ => random.Next())];
    }

    private static FineTuneData Data(IReadOnlyList<SftExample> examples, double replay = 0, string tokenizer = "chars-test") =>
        new(examples, End, tokenizer, replay);

    private static TrainingConfig FineTuning(long steps) => Tiny.Training(steps) with { BatchSize = 16, LearningRate = 3e-3, MinLearningRate = 3e-4, WeightDecay = 0 };

    /// <summary>A base model pretrained briefly on the corpus (a different task), saved as a checkpoint.</summary>
    private Func<string, Stream> SaveBase(double dropout = 0)
    {
        var path = Path.Combine(folder.Path, "base");
        using var train = corpus.OpenTrain();
        using var loop = new TrainingLoop(Tiny.Gpt(Vocabulary) with { Dropout = dropout }, Tiny.Training(30), train);
        loop.Run();
        Checkpoint.Save(loop, path);
        return Checkpoint.OpenFolder(path);
    }

    /// <summary>The mean loss of <paramref name="model"/> on the completion (and end) tokens of <paramref name="examples"/>.</summary>
    private static double CompletionLoss(LanguageModel model, SftExample[] examples)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var context = model.Config.ContextLength;
        var inputs = new long[examples.Length * context];
        var targets = new long[inputs.Length];
        for (var i = 0; i < examples.Length; i++)
            SftBatchSampler.Write(examples[i], End, inputs.AsSpan(i * context, context), targets.AsSpan(i * context, context));
        var wasTraining = model.training;
        model.eval();
        var loss = model.Loss(tensor(inputs, [examples.Length, context]), tensor(targets, [examples.Length, context])).item<float>();
        model.train(wasTraining);
        return loss;
    }

    [Fact]
    public void TargetsCountOnlyOnTheCompletionAndTheEndTokenNotOnThePromptOrThePadding()
    {
        var (inputs, targets) = Row(new SftExample([1, 2, 3], [4, 5]), End, contextLength: 8);

        Assert.Equal([1, 2, 3, 4, 5, End, End, End], inputs);
        Assert.Equal([Ignored, Ignored, 4, 5, End, Ignored, Ignored, Ignored], targets);

        var (plainInputs, plainTargets) = Row(new SftExample([1, 2, 3], [4, 5]), endToken: null, contextLength: 8);
        Assert.Equal([1, 2, 3, 4, 5, 0, 0, 0], plainInputs);
        Assert.Equal([Ignored, Ignored, 4, 5, Ignored, Ignored, Ignored, Ignored], plainTargets);
    }

    [Fact]
    public void ALongRowLosesTheStartOfItsPromptFirstAndThenTheEndOfItsCompletion()
    {
        // ContextLength 4: a row holds 5 tokens. The completion and end (3 tokens) fit after the last 2 prompt tokens.
        var (inputs, targets) = Row(new SftExample([1, 2, 3, 4, 5], [6, 7]), End, contextLength: 4);
        Assert.Equal([4, 5, 6, 7], inputs);
        Assert.Equal([Ignored, 6, 7, End], targets);

        // A completion longer than the row keeps one prompt token, so its first token is still predicted, and loses its tail.
        var (longInputs, longTargets) = Row(new SftExample([1, 2], [3, 4, 5, 6, 7, 8]), End, contextLength: 4);
        Assert.Equal([2, 3, 4, 5], longInputs);
        Assert.Equal([3, 4, 5, 6], longTargets);

        // Without a prompt there is nothing to predict the first completion token from.
        var (_, bareTargets) = Row(new SftExample([], [3, 4]), End, contextLength: 4);
        Assert.Equal([4, End, Ignored, Ignored], bareTargets);
    }

    [Fact]
    public void TheLossIsTheMeanOverTheCountedTargetsAndZeroWhenNoneCounts()
    {
        manual_seed(5);
        using var model = new Gpt(Tiny.Gpt(Vocabulary));
        using var scope = NewDisposeScope();
        var inputs = randint(0, Vocabulary, [2, 16], dtype: int64);
        var targets = randint(0, Vocabulary, [2, 16], dtype: int64);
        var counted = rand([2, 16]).lt(0.3);
        counted[0, 0] = tensor(true);
        var masked = targets.masked_fill(counted.logical_not(), Ignored);

        var loss = model.Loss(inputs, masked).item<float>();
        var positions = counted.view(-1).nonzero().squeeze(1);
        var logits = model.call(inputs).view(-1, Vocabulary).index_select(0, positions);
        var expected = nn.functional.cross_entropy(logits, targets.view(-1).index_select(0, positions)).item<float>();
        Assert.Equal(expected, loss, 1e-5f);

        var nothing = model.Loss(inputs, full_like(targets, Ignored));
        nothing.backward();
        Assert.Equal(0f, nothing.item<float>());
        Assert.All(model.parameters(), p => Assert.Equal(0f, p.grad!.abs().max().item<float>()));
    }

    [Fact]
    public void FineTuningOnReversalsLearnsToReverseHeldOutPrompts()
    {
        var examples = Reversals();
        var heldOut = examples[..64];
        var training = examples[64..];
        var baseCheckpoint = SaveBase();
        using var baseModel = Checkpoint.LoadModel(baseCheckpoint);
        var baseLoss = CompletionLoss(baseModel, heldOut);

        var clock = Stopwatch.StartNew();
        using var loop = TrainingLoop.FromBase(baseCheckpoint, FineTuning(300), replay: null, validation: null, Data(training));
        loop.Run();
        var tunedLoss = CompletionLoss(loop.Model, heldOut);
        var options = new GenerationOptions { MaxNewTokens = 4, StopTokens = [End] };
        var right = heldOut.Count(e => TokenGenerator.Generate(loop.Model, e.Prompt, options).SequenceEqual(e.Completion.Append(End)));
        output.WriteLine($"completion loss {baseLoss:F3} → {tunedLoss:F3}; {right}/{heldOut.Length} held-out prompts reversed; {clock.Elapsed.TotalSeconds:F1} s");

        // Untrained for this task the loss is about ln 10 ≈ 2.3; a model that reverses is near 0.
        Assert.True(tunedLoss < baseLoss / 4, $"completion loss {baseLoss} → {tunedLoss}");
        Assert.True(right >= heldOut.Length * 3 / 4, $"{right} of {heldOut.Length} held-out prompts reversed; at least three quarters expected");
    }

    [Fact]
    public void AFineTuneStartsFromTheBasesWeightsWithAFreshOptimizer()
    {
        var baseCheckpoint = SaveBase();
        using var baseModel = Checkpoint.LoadModel(baseCheckpoint);
        var data = Data(Reversals());
        var training = FineTuning(20);

        using var loop = TrainingLoop.FromBase(baseCheckpoint, training, replay: null, validation: null, data);
        Assert.Equal(0, loop.Step);
        Assert.Same(data, loop.FineTune);
        Assert.Equal(baseModel.Config, loop.ModelConfig);
        var weights = baseModel.state_dict();
        Assert.All(loop.Model.state_dict(), p => Assert.True(Tensors.Identical(weights[p.Key], p.Value), p.Key));

        // The loop's first batch, drawn again from a generator seeded as the loop seeds its own.
        var context = baseModel.Config.ContextLength;
        var inputs = new long[training.BatchSize * context];
        var targets = new long[inputs.Length];
        new SftBatchSampler(data, context, new BatchRandom(training.Seed)).Fill(inputs, targets);
        float baseLoss;
        using (var noGrad = no_grad())
            baseLoss = baseModel.Loss(tensor(inputs, [training.BatchSize, context]), tensor(targets, [training.BatchSize, context])).item<float>();

        Assert.Equal(baseLoss, loop.TrainStep().Loss, 1e-5);
    }

    [Fact]
    public void ResumingAFineTuneGivesExactlyTheLossesOfAnUninterruptedOne()
    {
        var baseCheckpoint = SaveBase(dropout: 0.1);
        using var replay = corpus.OpenTrain();
        var data = Data(Reversals(), replay: 0.3);
        var training = FineTuning(16) with { GradientAccumulationSteps = 2 };
        var saved = Path.Combine(folder.Path, "fine-tune");

        var uninterrupted = new List<double>();
        using (var loop = TrainingLoop.FromBase(baseCheckpoint, training, replay, null, data))
        {
            loop.StepCompleted += (_, step) => uninterrupted.Add(step.Loss);
            loop.Run();
        }

        var resumed = new List<double>();
        using (var loop = TrainingLoop.FromBase(baseCheckpoint, training, replay, null, data))
        {
            loop.StepCompleted += (_, step) => resumed.Add(step.Loss);
            loop.RunUntil(7);
            Checkpoint.Save(loop, saved);
        }
        using (var loop = TrainingLoop.Resume(Checkpoint.OpenFolder(saved), replay, fineTune: data))
        {
            Assert.Equal(7, loop.Step);
            loop.StepCompleted += (_, step) => resumed.Add(step.Loss);
            loop.Run();
        }

        Assert.Equal(uninterrupted, resumed);
        var state = Checkpoint.ReadTrainerState(Checkpoint.OpenFolder(saved));
        Assert.Equal(new FineTuneState(data.Examples.Count, End, 0.3, data.Sha256()), state.FineTune);
        var withoutExamples = Assert.Throws<InvalidDataException>(() => TrainingLoop.Resume(Checkpoint.OpenFolder(saved), replay).Dispose());
        Assert.Contains("is of a fine-tune", withoutExamples.Message, StringComparison.Ordinal);
        var otherExamples = Assert.Throws<InvalidDataException>(() => TrainingLoop.Resume(Checkpoint.OpenFolder(saved), replay, fineTune: Data(Reversals()[1..], replay: 0.3)).Dispose());
        Assert.Contains("fine-tuned on other data", otherExamples.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void TheReplayFractionIsTheShareOfRowsThatArePlainWindows()
    {
        // Examples use tokens 0 and 1 only, the replay shard 5..9 only, so a row tells where it came from.
        using var replay = TokenDataset.Open(corpus.WriteShard("replay.bin", Enumerable.Range(0, 2_000).Select(i => 5 + i % 5), vocabularySize: Vocabulary));
        var data = new FineTuneData([new SftExample([0, 0], [1, 1])], EndToken: null, "chars-test", ReplayFraction: 0.3);
        const int Rows = 4_000;
        const int Context = 8;
        var inputs = new long[Rows * Context];
        var targets = new long[inputs.Length];

        new SftBatchSampler(data, Context, new BatchRandom(11), replay).Fill(inputs, targets);

        var rows = Enumerable.Range(0, Rows).Select(r => (Inputs: inputs[(r * Context)..((r + 1) * Context)], Targets: targets[(r * Context)..((r + 1) * Context)])).ToList();
        var replayed = rows.Where(r => r.Inputs[0] >= 5).ToList();
        var share = (double)replayed.Count / Rows;
        Assert.InRange(share, 0.27, 0.33); // three standard deviations of a binomial share at 4000 rows is 0.022
        Assert.All(replayed, r => Assert.DoesNotContain(Ignored, r.Targets));
        Assert.All(rows.Except(replayed), r => Assert.Equal([Ignored, 1, 1, Ignored, Ignored, Ignored, Ignored, Ignored], r.Targets));
    }

    [Fact]
    public void BadFineTuningInputsAreRefusedWithClearErrors()
    {
        var baseCheckpoint = SaveBase();
        var examples = Reversals();
        using var replay = corpus.OpenTrain();
        var training = FineTuning(5);

        string Refusal<T>(Action start) where T : Exception => Assert.Throws<T>(start).Message;
        void FromBase(FineTuneData data, TokenDataset? replayData = null) =>
            TrainingLoop.FromBase(baseCheckpoint, training, replayData, null, data).Dispose();

        Assert.Contains("tokenizer 'chars-test'", Refusal<ArgumentException>(() => FromBase(Data(examples, tokenizer: "bpe-other"))), StringComparison.Ordinal);
        Assert.Contains("at least one example", Refusal<ArgumentException>(() => FromBase(Data([]))), StringComparison.Ordinal);
        Assert.Contains("nothing to learn", Refusal<ArgumentException>(() => FromBase(Data([new SftExample([1], [])]))), StringComparison.Ordinal);
        Assert.Contains("ReplayFraction must be in [0, 1)", Refusal<ArgumentException>(() => FromBase(Data(examples, replay: 1), replay)), StringComparison.Ordinal);
        Assert.Contains("needs replay shards", Refusal<ArgumentException>(() => FromBase(Data(examples, replay: 0.5))), StringComparison.Ordinal);
        Assert.Contains("outside the model's vocabulary of 10", Refusal<ArgumentException>(() => FromBase(Data([new SftExample([1], [Vocabulary])]))), StringComparison.Ordinal);
        Assert.Contains("fine-tuning examples", Refusal<InvalidDataException>(() => TrainingLoop.Resume(baseCheckpoint, replay, fineTune: Data(examples)).Dispose()), StringComparison.Ordinal);
    }
}
