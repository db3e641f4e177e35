namespace Forge.Contracts;

/// <summary>A training run was submitted: any trainer with room may claim it (the run record holds its settings).</summary>
public sealed record StartTrainingRun(string RunId);

/// <summary>Progress of a run, every few steps, from the trainer that holds its lease.</summary>
public sealed record TrainingRunProgressed(
    string RunId,
    string Trainer,
    long Step,
    long MaxSteps,
    double Loss,
    double LearningRate,
    double TokensPerSecond,
    double EtaSeconds);

public sealed record TrainingRunEvaluated(string RunId, long Step, double ValidationLoss, double Perplexity);

public sealed record CheckpointSaved(string RunId, long Step, string ManifestKey);

/// <summary>A run reached its last step; its final checkpoint, lineage and held-out shards come along for registration and evaluation.</summary>
public sealed record TrainingRunCompleted(
    string RunId,
    string RunName,
    long Step,
    double FinalLoss,
    double? ValidationLoss,
    string CheckpointKey,
    string TokenizerId,
    string? DatasetVersion,
    IReadOnlyList<string> ValidationShards)
{
    /// <summary>The token shards the run trained on (for a fine-tune, its replay shards): a later fine-tune replays them.</summary>
    public IReadOnlyList<string> TrainShards { get; init; } = [];

    /// <summary>Set for a fine-tune: the model version it started from.</summary>
    public string? BaseVersionId { get; init; }

    /// <summary>Set when feedback asked for this fine-tune (<see cref="RetrainingRequested"/>).</summary>
    public string? RetrainingId { get; init; }
}

public sealed record TrainingRunFailed(string RunId, string Reason);

public sealed record TrainingRunCancelled(string RunId, long Step);

/// <summary>A submitted run was refused before anything started: which field, and why.</summary>
public sealed record TrainingRunRejected(string Field, string Reason, DateTime RejectedAt);

/// <summary>
/// Fine-tune a registered model version on supervised examples: the JSONL at SftDataKey holds {prompt, completion} or
/// {messages: [...]} lines, the loss counts only the answer's tokens, and a ReplayFraction of each batch's rows are
/// windows of ReplayShards (the base's own data) so the model keeps what it knew. The result keeps the base's
/// tokenizer and records its base version. Idempotent on RunId.
/// </summary>
public sealed record FineTuneRequested(
    string RunId,
    string Name,
    string BaseVersionId,
    string BaseCheckpointKey,
    string TokenizerId,
    string SftDataKey,
    IReadOnlyList<string> ReplayShards,
    IReadOnlyList<string> ValidationShards,
    IReadOnlyList<string> DatasetVersions,
    FineTuneSettings Settings,
    string? RetrainingId);

/// <summary>How to fine-tune: few steps, a small constant-then-decaying learning rate, part replay.</summary>
public sealed record FineTuneSettings(
    long MaxSteps = 100,
    double LearningRate = 3e-4,
    int BatchSize = 8,
    double ReplayFraction = 0.5,
    int EvaluationInterval = 0,
    int CheckpointInterval = 50,
    long Seed = 1337);

/// <summary>Asks the trainer holding a run (or the queue) to stop it; the run ends Cancelled. Unknown or finished runs are left alone.</summary>
public sealed record CancelTrainingRunRequested(string RunId, string Reason);
