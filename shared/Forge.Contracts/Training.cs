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
    IReadOnlyList<string> ValidationShards);

public sealed record TrainingRunFailed(string RunId, string Reason);

public sealed record TrainingRunCancelled(string RunId, long Step);

/// <summary>A submitted run was refused before anything started: which field, and why.</summary>
public sealed record TrainingRunRejected(string Field, string Reason, DateTime RejectedAt);
