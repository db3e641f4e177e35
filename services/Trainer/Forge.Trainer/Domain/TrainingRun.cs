using Forge.Model;
using Forge.Storage.Metadata;

namespace Forge.Trainer.Domain;

public enum RunState { Queued, Running, Completed, Failed, Cancelled }

/// <summary>Which trainer holds a run, until when. The epoch grows with every new holder, fencing out a late one.</summary>
public sealed record RunLease(string Owner, DateTime ExpiresAt, int Epoch);

/// <summary>
/// A stretch of steps one trainer trained, from its claim to its last heartbeat: the history that shows no two
/// trainers trained a run at once (a successor claims only after the predecessor's last heartbeat plus the lease).
/// </summary>
public sealed record RunSegment(string Owner, int Epoch, long FromStep, long ToStep, DateTime StartedAt, DateTime LastBeatAt);

public sealed record SavedCheckpoint(long Step, string ManifestKey, DateTime SavedAt);

public sealed record LossPoint(long Step, double? Loss, double? LearningRate, double? ValidationLoss);

/// <summary>A training run: its settings, its lease and what has been trained so far.</summary>
public sealed record TrainingRun : IDocument
{
    public const string Pretrain = "pretrain";
    public const string FineTune = "finetune";

    public required string Id { get; init; }
    public string Name { get; init; } = "";

    /// <summary>
    /// <see cref="Pretrain"/>, or <see cref="FineTune"/>: trained from <see cref="BaseCheckpointKey"/> on the examples at
    /// <see cref="SftDataKey"/>, with <see cref="TrainShards"/> as its replay shards.
    /// </summary>
    public string Kind { get; init; } = Pretrain;

    /// <summary>The network's shape (a fine-tune's is its base's); null only for a fine-tune refused before its base was read.</summary>
    public required GptConfig? Model { get; init; }
    public required TrainingConfig Training { get; init; }
    public required string TokenizerId { get; init; }
    /// <summary>The sealed dataset version the shards were made from (lineage), when the submitter named it.</summary>
    public string? DatasetVersion { get; init; }
    /// <summary>The shards to train on; for a fine-tune, those replayed (may be empty when ReplayFraction is 0).</summary>
    public required List<string> TrainShards { get; init; }
    public List<string> ValidationShards { get; init; } = [];
    /// <summary>A fine-tune's base model version (lineage), when it was named.</summary>
    public string? BaseVersionId { get; init; }
    /// <summary>A fine-tune's starting point: a checkpoint's manifest key, runs/{runId}/checkpoints/step-{n}/manifest.json.</summary>
    public string? BaseCheckpointKey { get; init; }
    /// <summary>A fine-tune's examples: JSONL of {prompt, completion} or {messages} (see Forge.Serving.SftJsonl).</summary>
    public string? SftDataKey { get; init; }
    /// <summary>The share of a fine-tune's rows that are windows of TrainShards rather than examples.</summary>
    public double ReplayFraction { get; init; }
    /// <summary>Set when feedback asked for this fine-tune.</summary>
    public string? RetrainingId { get; init; }
    public RunState State { get; init; }
    public DateTime CreatedAt { get; init; }
    public DateTime? FinishedAt { get; init; }
    public RunLease? Lease { get; init; }
    public long Step { get; init; }
    public double? LastLoss { get; init; }
    public double? ValidationLoss { get; init; }
    public double TokensPerSecond { get; init; }
    public List<SavedCheckpoint> Checkpoints { get; init; } = [];
    public List<RunSegment> Segments { get; init; } = [];
    public List<LossPoint> Curve { get; init; } = [];
    public bool CancelRequested { get; init; }
    public string? Failure { get; init; }

    /// <summary>A new run id: time-ordered, so ids sort roughly by submission.</summary>
    public static string NewId() => $"run-{Guid.CreateVersion7():N}"[..20];
}

public sealed class TrainerStore(IMetadataStore store)
{
    public IDocumentCollection<TrainingRun> Runs { get; } = store.Collection<TrainingRun>("trainer_runs");

    public async Task EnsureIndexesAsync(CancellationToken cancellationToken) =>
        await Runs.EnsureIndexAsync(r => r.State, cancellationToken: cancellationToken);
}
