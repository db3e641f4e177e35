namespace Forge.Contracts;

/// <summary>A raw batch was stored in the artifact store and recorded; cleaning can start.</summary>
public sealed record DocumentsIngested(
    string DatasetId,
    string BatchId,
    string SourceId,
    string RawKey,
    int DocumentCount,
    long Bytes,
    DateTime IngestedAt);

/// <summary>A batch was cleaned into one shard (redelivery of the same batch never makes a second one).</summary>
public sealed record ShardCleaned(
    string DatasetId,
    string BatchId,
    string SourceId,
    string ShardKey,
    int DocumentsIn,
    int DocumentsOut,
    long BytesIn,
    long BytesOut,
    DateTime CleanedAt);

/// <summary>A source was deleted: its documents leave every dataset version sealed from now on.</summary>
public sealed record SourceDeleted(string DatasetId, string SourceId, DateTime DeletedAt);

/// <summary>An immutable dataset version was sealed from the clean shards.</summary>
public sealed record DatasetVersionSealed(
    string DatasetId,
    string VersionId,
    int Number,
    string ManifestKey,
    long Documents,
    long Bytes,
    double ValidationFraction,
    DateTime SealedAt);
