using Forge.Storage.Metadata;

namespace Forge.Orchestrator.Domain;

public enum ModelState
{
    Candidate,
    Promoted,
    Retired,
}

/// <summary>One state change of a version: who made it, why and when. Registration is the entry without a from-state.</summary>
public sealed record HistoryEntry
{
    public DateTime At { get; init; }
    public required string By { get; init; }
    public required string Reason { get; init; }
    public ModelState? From { get; init; }
    public ModelState To { get; init; }
}

/// <summary>A version's metrics on one eval set (name to value, on each metric's own scale).</summary>
public sealed record EvalSetMetrics
{
    public required string EvalSet { get; init; }
    public Dictionary<string, double> Values { get; init; } = [];
    public string? EvaluationId { get; init; }
    public DateTime MeasuredAt { get; init; }
}

/// <summary>
/// A registered model version: the checkpoint it is, how it was made (run, tokenizer, dataset versions), how it
/// scored, and its state with the history of how it got there. Its id is <c>{model}@{number}</c>.
/// </summary>
public sealed record ModelVersion : IDocument
{
    public required string Id { get; init; }
    public required string Model { get; init; }
    public int Number { get; init; }
    public required string RunId { get; init; }
    public required string CheckpointKey { get; init; }
    public required string TokenizerId { get; init; }
    public List<string> DatasetVersions { get; init; } = [];
    /// <summary>The held-out token shards of the run, on which the evaluator measures perplexity.</summary>
    public List<string> ValidationShards { get; init; } = [];
    /// <summary>The token shards the run trained on; a fine-tune of this version replays a sample of them.</summary>
    public List<string> TrainShards { get; init; } = [];
    /// <summary>For a fine-tune: the version it started from (its lineage).</summary>
    public string? BaseVersionId { get; init; }
    /// <summary>For a fine-tune that feedback asked for: the retraining request's id.</summary>
    public string? RetrainingId { get; init; }
    public List<EvalSetMetrics> Metrics { get; init; } = [];
    public ModelState State { get; init; }
    /// <summary>Try a gated promotion whenever metrics are recorded for this candidate.</summary>
    public bool AutoPromote { get; init; }
    public DateTime RegisteredAt { get; init; }
    public List<HistoryEntry> History { get; init; } = [];

    /// <summary>Unique: one version per model, run and checkpoint, so a retried registration finds the first.</summary>
    public required string CheckpointIdentity { get; init; }

    /// <summary>Bumped by every write; every write is a compare-and-swap on it.</summary>
    public int Revision { get; init; }

    /// <summary>The family revision of the last promotion or rollback applied to this version's state; older ones are not applied again.</summary>
    public int StateRevision { get; init; }

    /// <summary>
    /// Set by the write that registers the version and cleared once ModelVersionRegistered is published: until then a
    /// redelivered registration, or the registry's sweep, announces it again, so a crash in between loses no event.
    /// </summary>
    public bool AnnouncementPending { get; init; }

    /// <summary>
    /// An auto-promotion attempt owed to this version: set by the write that records its metrics (or registers it with
    /// metrics), cleared once the attempt has ended, so a crash in between still gets its attempt.
    /// </summary>
    public PendingPromotion? PendingPromotion { get; init; }

    public double? Metric(string evalSet, string metric) =>
        Metrics.FirstOrDefault(m => m.EvalSet == evalSet)?.Values.TryGetValue(metric, out var value) == true ? value : null;
}

/// <summary>Why and since when a version is owed an auto-promotion attempt.</summary>
public sealed record PendingPromotion
{
    public required string Reason { get; init; }
    public DateTime Since { get; init; }
}

/// <summary>A promotion or rollback as the family recorded it, so that its effect on the versions can be (re)applied.</summary>
public sealed record StateChange
{
    public int Revision { get; init; }
    public string? PromotedVersionId { get; init; }
    public string? RetiredVersionId { get; init; }
    public required string By { get; init; }
    public required string Reason { get; init; }
    public DateTime At { get; init; }
    /// <summary>A rollback (announced as ModelRolledBack) rather than a promotion (ModelPromoted).</summary>
    public bool Rollback { get; init; }
    /// <summary>Set by the write that makes the change, cleared once its event is published (see <see cref="ModelVersion.AnnouncementPending"/>).</summary>
    public bool AnnouncementPending { get; init; }
}

/// <summary>
/// The versions of one model share a family. Its <see cref="PromotedVersionId"/> is the single source of truth for
/// which version is promoted, changed only by compare-and-swap on <see cref="Revision"/>, so there is never more than one.
/// </summary>
public sealed record ModelFamily : IDocument
{
    /// <summary>The model's name.</summary>
    public required string Id { get; init; }
    public int Revision { get; init; }
    public int LastNumber { get; init; }
    public string? PromotedVersionId { get; init; }
    /// <summary>The versions promoted before the current one, oldest first: a rollback restores the last.</summary>
    public List<string> PreviouslyPromoted { get; init; } = [];
    public PromotionPolicy Policy { get; init; } = new();
    public StateChange? LastChange { get; init; }
    public DateTime CreatedAt { get; init; }
}

public sealed class RegistryStore(IMetadataStore store)
{
    public IDocumentCollection<ModelVersion> Versions { get; } = store.Collection<ModelVersion>("orchestrator_model_versions");
    public IDocumentCollection<ModelFamily> Families { get; } = store.Collection<ModelFamily>("orchestrator_model_families");

    public async Task EnsureIndexesAsync(CancellationToken cancellationToken)
    {
        await Versions.EnsureIndexAsync(v => v.Model, cancellationToken: cancellationToken);
        await Versions.EnsureIndexAsync(v => v.CheckpointIdentity, unique: true, cancellationToken);
    }
}
