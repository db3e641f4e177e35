using System.Diagnostics;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Forge.Model;

/// <summary>One optimizer step: the mean loss over its micro-batches, the learning rate it used, the gradient norm before clipping (NaN when clipping is off).</summary>
public sealed record TrainingStep(long Step, double Loss, double LearningRate, double GradientNorm);

/// <summary>Reported every LogInterval steps. Loss is the mean over the steps since the last report.</summary>
public sealed record TrainingProgress(
    long Step,
    long MaxSteps,
    double Loss,
    double LearningRate,
    double TokensPerSecond,
    double FlopsPerSecond,
    TimeSpan Elapsed,
    TimeSpan Remaining);

public sealed record EvaluationResult(long Step, double Loss, int Batches)
{
    public double Perplexity => Math.Exp(Loss);
}

public sealed record TrainingSummary(long Step, double LastLoss, EvaluationResult? LastEvaluation, TimeSpan Elapsed);

/// <summary>
/// nanoGPT's training loop: random windows from token shards, AdamW with decoupled weight decay on matrices, linear
/// warmup then cosine decay, gradient accumulation and clipping, periodic evaluation, events for progress and
/// checkpoints, and everything a checkpoint needs to resume exactly. torch's generator is process-wide, so a process
/// trains one loop at a time if runs are to repeat exactly. A fine-tune (<see cref="FromBase"/>) trains the same way on
/// rows of supervised examples, whose loss counts only the completions (<see cref="SftBatchSampler"/>).
/// </summary>
public sealed class TrainingLoop : IDisposable
{
    private readonly TokenDataset? validation;
    private readonly IBatchSource batches;
    private readonly AdamW optimizer;
    private readonly Parameter[] parameters;
    private readonly LearningRateSchedule schedule;
    private readonly long evaluationSeed;

    /// <summary>
    /// Seeds torch, builds the model on the chosen device and the optimizer. The datasets stay the caller's to dispose.
    /// With <paramref name="fineTune"/> the rows are its examples (see <see cref="SftBatchSampler"/>) and
    /// <paramref name="train"/> holds the replay shards, which may be null when its ReplayFraction is 0.
    /// </summary>
    public TrainingLoop(GptConfig model, TrainingConfig training, TokenDataset? train, TokenDataset? validation = null, FineTuneData? fineTune = null)
    {
        model.Validate();
        training.Validate();
        fineTune?.Validate();
        if (train is null && fineTune is not { ReplayFraction: 0 })
            throw new ArgumentException(fineTune is null ? "Training needs token shards." : $"A replay fraction of {fineTune.ReplayFraction} needs replay shards.", nameof(train));
        var tokenizerId = train?.TokenizerId ?? fineTune!.TokenizerId;
        if (train is not null)
            CheckData(model, train, fineTune is null ? "training" : "replay");
        if (fineTune is not null)
            CheckExamples(model, fineTune, tokenizerId);
        if (validation is not null)
        {
            CheckData(model, validation, "validation");
            if (validation.TokenizerId != tokenizerId)
                throw new ArgumentException($"The validation shards come from tokenizer '{validation.TokenizerId}', the training data from '{tokenizerId}'.", nameof(validation));
        }
        ModelConfig = model;
        Training = training;
        TokenizerId = tokenizerId;
        FineTune = fineTune;
        this.validation = validation;

        TorchRuntime.ConfigureThreads(training.Threads);
        Device = TorchRuntime.SelectDevice(training.Device);
        manual_seed(training.Seed);
        if (Device.type == DeviceType.CUDA)
            cuda.manual_seed_all(training.Seed);
        Model = LanguageModel.Create(model);
        Model.to(Device);
        Model.ComputeType = ComputePrecision.Select(training.Precision, Device);
        Model.train();

        var groups = WeightDecayGroups.Of(Model);
        Parameters = [.. groups.All];
        parameters = [.. Parameters.Select(p => p.Parameter)];
        optimizer = groups.CreateAdamW(training);
        schedule = LearningRateSchedule.From(training);
        var random = new BatchRandom(training.Seed);
        batches = fineTune is null ? new BatchSampler(train!, model.ContextLength, random) : new SftBatchSampler(fineTune, model.ContextLength, random, train);
        evaluationSeed = training.Seed ^ 0x5EED_0F_E7A1; // fixed windows, apart from the training stream
    }

    /// <summary>
    /// Continues a run from a checkpoint. <paramref name="adjust"/> may change settings such as MaxSteps, Device or
    /// Threads. A fine-tune's checkpoint resumes only with the same <paramref name="fineTune"/> data it was made with.
    /// </summary>
    public static TrainingLoop Resume(Func<string, Stream> openFile, TokenDataset? train, TokenDataset? validation = null, Func<TrainingConfig, TrainingConfig>? adjust = null, FineTuneData? fineTune = null)
    {
        var state = Checkpoint.ReadTrainerState(openFile);
        return Loaded(new TrainingLoop(state.Model, adjust?.Invoke(state.Training) ?? state.Training, train, validation, fineTune), loop => Checkpoint.Restore(loop, openFile));
    }

    /// <summary>
    /// Starts a fine-tune from a complete checkpoint: the model configuration and weights are the base's, the optimizer
    /// is fresh and the step is 0. The examples must be tokens of the base's tokenizer; <paramref name="replay"/> (the
    /// base's own shards, say) may be null when fineTune.ReplayFraction is 0.
    /// </summary>
    public static TrainingLoop FromBase(Func<string, Stream> baseCheckpoint, TrainingConfig training, TokenDataset? replay, TokenDataset? validation, FineTuneData fineTune)
    {
        ArgumentNullException.ThrowIfNull(fineTune);
        var state = Checkpoint.ReadTrainerState(baseCheckpoint);
        if (state.TokenizerId != fineTune.TokenizerId)
            throw new ArgumentException($"The base checkpoint was trained on tokens of tokenizer '{state.TokenizerId}', but the examples are tokens of '{fineTune.TokenizerId}'.", nameof(fineTune));
        return Loaded(new TrainingLoop(state.Model, training, replay, validation, fineTune), loop => Checkpoint.LoadVerifiedWeights(loop.Model, baseCheckpoint));
    }

    private static TrainingLoop Loaded(TrainingLoop loop, Action<TrainingLoop> load)
    {
        try
        {
            load(loop);
            return loop;
        }
        catch
        {
            loop.Dispose();
            throw;
        }
    }

    public event EventHandler<TrainingStep>? StepCompleted;
    public event EventHandler<TrainingProgress>? ProgressReported;
    public event EventHandler<EvaluationResult>? Evaluated;

    /// <summary>Raised every CheckpointInterval steps, between steps: the handler saves with <see cref="Checkpoint.Write"/>.</summary>
    public event EventHandler<long>? CheckpointDue;

    public GptConfig ModelConfig { get; }
    public TrainingConfig Training { get; }
    public string TokenizerId { get; }

    /// <summary>The examples this loop fine-tunes on; null when it pretrains.</summary>
    public FineTuneData? FineTune { get; }

    public Device Device { get; }
    public LanguageModel Model { get; }

    /// <summary>Optimizer steps taken so far.</summary>
    public long Step { get; private set; }

    public long TokensSeen { get; private set; }

    internal AdamW Optimizer => optimizer;

    /// <summary>The trained parameters by name, in the optimizer's order.</summary>
    internal IReadOnlyList<(string Name, Parameter Parameter)> Parameters { get; }

    internal string SamplerState => batches.Random.State;

    private long TokensPerStep => Training.TokensPerStep(ModelConfig.ContextLength);

    /// <summary>One optimizer step over GradientAccumulationSteps micro-batches.</summary>
    public TrainingStep TrainStep()
    {
        using var scope = NewDisposeScope();
        var learningRate = schedule.At(Step);
        foreach (var group in optimizer.ParamGroups)
            group.LearningRate = learningRate;

        var accumulation = Training.GradientAccumulationSteps;
        var loss = 0.0;
        for (var micro = 0; micro < accumulation; micro++)
        {
            using var microScope = NewDisposeScope();
            var (inputs, targets) = NextBatch(batches);
            var microLoss = Model.Loss(inputs, targets) / accumulation; // the step's gradient is that of the mean over all micro-batches (each micro-batch's mean over its counted targets)
            microLoss.backward();
            loss += microLoss.item<float>();
        }
        var norm = Training.GradientClip > 0 ? nn.utils.clip_grad_norm_(parameters, Training.GradientClip) : double.NaN;
        optimizer.step();
        Model.zero_grad();
        Step++;
        TokensSeen += TokensPerStep;
        return new TrainingStep(Step, loss, learningRate, norm);
    }

    /// <summary>Mean loss over EvaluationBatches fixed windows of the validation shards.</summary>
    public EvaluationResult Evaluate() =>
        Evaluate(validation ?? throw new InvalidOperationException("This loop was given no validation shards."), Training.EvaluationBatches);

    /// <summary>Mean loss over <paramref name="batches"/> windows of <paramref name="data"/>; the same windows every time.</summary>
    public EvaluationResult Evaluate(TokenDataset data, int batches)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(batches);
        var windows = new BatchSampler(data, ModelConfig.ContextLength, new BatchRandom(evaluationSeed));
        Model.eval();
        try
        {
            using var noGrad = no_grad();
            var total = 0.0;
            for (var batch = 0; batch < batches; batch++)
            {
                using var scope = NewDisposeScope();
                var (inputs, targets) = NextBatch(windows);
                total += Model.Loss(inputs, targets).item<float>();
            }
            return new EvaluationResult(Step, total / batches, batches);
        }
        finally
        {
            Model.train();
        }
    }

    public TrainingSummary Run(CancellationToken cancellationToken = default) => RunUntil(Training.MaxSteps, cancellationToken);

    /// <summary>
    /// Trains until <paramref name="lastStep"/>, raising the events on the way. Cancellation stops between steps with
    /// an <see cref="OperationCanceledException"/>; the loop is then still consistent and can be checkpointed.
    /// </summary>
    public TrainingSummary RunUntil(long lastStep, CancellationToken cancellationToken = default)
    {
        if (lastStep > Training.MaxSteps)
            throw new ArgumentOutOfRangeException(nameof(lastStep), $"Step {lastStep} is past MaxSteps ({Training.MaxSteps}); raise MaxSteps to train longer.");
        var wall = Stopwatch.StartNew();
        var firstStep = Step;
        var window = (Steps: 0, Loss: 0.0, Training: TimeSpan.Zero);
        var lastLoss = double.NaN;
        EvaluationResult? lastEvaluation = null;
        while (Step < lastStep)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var started = Stopwatch.GetTimestamp();
            var step = TrainStep();
            window = (window.Steps + 1, window.Loss + step.Loss, window.Training + Stopwatch.GetElapsedTime(started));
            lastLoss = step.Loss;
            StepCompleted?.Invoke(this, step);

            if (Step % Training.LogInterval == 0 || Step == lastStep)
            {
                var tokensPerSecond = window.Steps * TokensPerStep / window.Training.TotalSeconds;
                var remaining = wall.Elapsed / (Step - firstStep) * (Training.MaxSteps - Step);
                ProgressReported?.Invoke(this, new TrainingProgress(Step, Training.MaxSteps, window.Loss / window.Steps, step.LearningRate,
                    tokensPerSecond, tokensPerSecond * Model.TrainingFlopsPerToken, wall.Elapsed, remaining));
                window = (0, 0, TimeSpan.Zero);
            }
            if (validation is not null && Training.EvaluationInterval > 0 && (Step % Training.EvaluationInterval == 0 || Step == Training.MaxSteps))
            {
                lastEvaluation = Evaluate();
                Evaluated?.Invoke(this, lastEvaluation);
            }
            if (Training.CheckpointInterval > 0 && Step % Training.CheckpointInterval == 0)
                CheckpointDue?.Invoke(this, Step);
        }
        return new TrainingSummary(Step, lastLoss, lastEvaluation, wall.Elapsed);
    }

    internal void RestoreProgress(long step, long tokensSeen, string samplerState, byte[] torchRngState)
    {
        Step = step;
        TokensSeen = tokensSeen;
        batches.Random.State = samplerState;
        using var rng = tensor(torchRngState);
        random.set_rng_state(rng);
        // TorchSharp 0.107 cannot read CUDA's generator, so a resumed CUDA run draws dropout masks from a fresh,
        // step-dependent seed: repeatable, but not the masks the uninterrupted run would have drawn.
        if (Device.type == DeviceType.CUDA)
            cuda.manual_seed_all(Training.Seed + step);
    }

    public void Dispose()
    {
        optimizer.Dispose();
        Model.Dispose();
    }

    private (Tensor Inputs, Tensor Targets) NextBatch(IBatchSource from)
    {
        // Fresh arrays each time: torch.tensor wraps (does not copy) the array it is given.
        var inputs = new long[Training.BatchSize * ModelConfig.ContextLength];
        var targets = new long[inputs.Length];
        from.Fill(inputs, targets);
        ReadOnlySpan<long> shape = [Training.BatchSize, ModelConfig.ContextLength];
        return (tensor(inputs, shape).to(Device), tensor(targets, shape).to(Device)); // (B, T) each
    }

    private static void CheckExamples(GptConfig model, FineTuneData fineTune, string tokenizerId)
    {
        if (fineTune.TokenizerId != tokenizerId)
            throw new ArgumentException($"The examples are tokens of tokenizer '{fineTune.TokenizerId}', the replay shards of '{tokenizerId}'.", nameof(fineTune));
        var largest = fineTune.LargestToken();
        if (largest >= model.VocabularySize)
            throw new ArgumentException($"The examples use token {largest}, outside the model's vocabulary of {model.VocabularySize}.", nameof(fineTune));
    }

    private static void CheckData(GptConfig model, TokenDataset data, string role)
    {
        if (data.VocabularySize > model.VocabularySize)
            throw new ArgumentException($"The {role} shards use a vocabulary of {data.VocabularySize} tokens, more than the model's {model.VocabularySize}.");
        var longest = data.Shards.Max(s => s.Count);
        if (longest <= model.ContextLength)
            throw new ArgumentException($"The context length {model.ContextLength} is too long for the {role} data: a window needs {model.ContextLength + 1} tokens and the longest {role} shard has {longest}.");
    }
}
