using Forge.Cleaning.Pipeline;
using Forge.Storage.Metadata;

namespace Forge.Cleaning.Domain;

public sealed record DropSample(string? DocumentId, string Excerpt);

/// <summary>One clean shard per ingested batch; the batch id is the natural key, so a replay cannot add a second.</summary>
public sealed record CleanShard : IDocument
{
    public required string Id { get; init; }
    public required string DatasetId { get; init; }
    public string SourceId { get; init; } = "";
    public required string ShardKey { get; init; }
    public int DocumentsIn { get; init; }
    public int DocumentsOut { get; init; }
    public long BytesIn { get; init; }
    public long BytesOut { get; init; }
    public Dictionary<string, int> Dropped { get; init; } = [];
    public Dictionary<string, List<DropSample>> Samples { get; init; } = [];
    public Dictionary<string, int> Redactions { get; init; } = [];
    public DateTime CleanedAt { get; init; }
}

/// <summary>A dataset's cleaning settings, when it has its own.</summary>
public sealed record DatasetCleaningSettings : IDocument
{
    public required string Id { get; init; }
    public required CleaningSettings Settings { get; init; }
}

/// <summary>Exact dedup: one document per normalised-text hash in a dataset; the owner says which document holds it.</summary>
public sealed record Fingerprint : IDocument
{
    public required string Id { get; init; }
    public required string DatasetId { get; init; }
    public required string Owner { get; init; }
}

/// <summary>Near dedup: the MinHash signatures of the documents one batch kept, from which the LSH band index is rebuilt.</summary>
public sealed record LshBatch : IDocument
{
    public required string Id { get; init; }
    public required string DatasetId { get; init; }
    public long Sequence { get; init; }
    public List<LshEntry> Entries { get; init; } = [];
}

public sealed record LshEntry(string Owner, string Signature);

/// <summary>
/// Which cleaning replica is near-deduplicating a batch of the dataset right now (its id is the dataset's): the check
/// against the dataset's index and the addition of the batch's documents to it must not interleave between replicas,
/// or each would miss the other's near-duplicates. Held with a heartbeat; a holder that dies lets it expire.
/// </summary>
public sealed record DedupLease : IDocument
{
    public required string Id { get; init; }
    public required string Holder { get; init; }
    public DateTime ExpiresAt { get; init; }
    public int Revision { get; init; }
}

/// <summary>A deleted source: shards from it are left out of versions sealed afterwards.</summary>
public sealed record ExcludedSource : IDocument
{
    public required string Id { get; init; }
    public required string DatasetId { get; init; }
    public DateTime DeletedAt { get; init; }
}

/// <summary>The record of a sealed version; its manifest artifact holds the full shard list.</summary>
public sealed record DatasetVersion : IDocument
{
    public required string Id { get; init; }
    public required string DatasetId { get; init; }
    public int Number { get; init; }
    public required string ManifestKey { get; init; }
    public long Documents { get; init; }
    public long Bytes { get; init; }
    public double ValidationFraction { get; init; }
    public List<string> Sources { get; init; } = [];
    public List<string> ExcludedSources { get; init; } = [];
    public DateTime SealedAt { get; init; }
    /// <summary>The build this version was sealed for, when a build's command sealed it.</summary>
    public string? BuildId { get; init; }
}

/// <summary>A batch whose cleaning failed after every retry: its message went to the _error queue.</summary>
public sealed record CleaningFailure : IDocument
{
    public required string Id { get; init; }
    public required string DatasetId { get; init; }
    public required string RawKey { get; init; }
    public required string Reason { get; init; }
    public DateTime FailedAt { get; init; }
}

public sealed class CleaningStore(IMetadataStore store)
{
    public IDocumentCollection<CleanShard> Shards { get; } = store.Collection<CleanShard>("cleaning_shards");
    public IDocumentCollection<DatasetCleaningSettings> Settings { get; } = store.Collection<DatasetCleaningSettings>("cleaning_settings");
    public IDocumentCollection<Fingerprint> Fingerprints { get; } = store.Collection<Fingerprint>("cleaning_fingerprints");
    public IDocumentCollection<LshBatch> LshBatches { get; } = store.Collection<LshBatch>("cleaning_lsh");
    public IDocumentCollection<DedupLease> DedupLeases { get; } = store.Collection<DedupLease>("cleaning_dedup_leases");
    public IDocumentCollection<ExcludedSource> ExcludedSources { get; } = store.Collection<ExcludedSource>("cleaning_excluded_sources");
    public IDocumentCollection<DatasetVersion> Versions { get; } = store.Collection<DatasetVersion>("cleaning_versions");
    public IDocumentCollection<CleaningFailure> Failures { get; } = store.Collection<CleaningFailure>("cleaning_failures");

    public async Task EnsureIndexesAsync(CancellationToken cancellationToken)
    {
        await Shards.EnsureIndexAsync(s => s.DatasetId, cancellationToken: cancellationToken);
        await LshBatches.EnsureIndexAsync(b => b.DatasetId, cancellationToken: cancellationToken);
        await LshBatches.EnsureIndexAsync(b => b.Sequence, cancellationToken: cancellationToken);
        await ExcludedSources.EnsureIndexAsync(s => s.DatasetId, cancellationToken: cancellationToken);
        await Versions.EnsureIndexAsync(v => v.DatasetId, cancellationToken: cancellationToken);
        await Versions.EnsureIndexAsync(v => v.BuildId, cancellationToken: cancellationToken);
    }
}
