namespace Forge.Contracts;

/// <summary>A raw batch was stored in the artifact store and recorded; cleaning can start.</summary>
public sealed record DocumentsIngested(
    string DatasetId,
    string BatchId,
    string RawKey,
    int DocumentCount,
    long Bytes,
    DateTime IngestedAt);

/// <summary>A batch was cleaned into one shard (redelivery of the same batch never makes a second one).</summary>
public sealed record ShardCleaned(
    string DatasetId,
    string BatchId,
    string ShardKey,
    int DocumentsIn,
    int DocumentsOut,
    long BytesIn,
    long BytesOut,
    DateTime CleanedAt);
