using Forge.Storage.Metadata;

namespace Forge.Ingestion.Domain;

public sealed record Dataset : IDocument
{
    public required string Id { get; init; }
    public string Description { get; init; } = "";
    public DateTime CreatedAt { get; init; }
}

/// <summary>Where documents came from: every batch names its source, for lineage and for deleting a source's documents.</summary>
public sealed record Source : IDocument
{
    public required string Id { get; init; }
    public required string DatasetId { get; init; }
    public required string Name { get; init; }
    /// <summary>json, text, ndjson or file.</summary>
    public required string Kind { get; init; }
    public string? Uri { get; init; }
    public DateTime CreatedAt { get; init; }
    public DateTime? DeletedAt { get; init; }
}

public enum BatchStatus
{
    /// <summary>Stored and recorded; DocumentsIngested not yet confirmed published.</summary>
    Received,
    /// <summary>DocumentsIngested published; waiting for cleaning.</summary>
    Published,
    Cleaned,
}

public sealed record Batch : IDocument
{
    public required string Id { get; init; }
    public required string DatasetId { get; init; }
    public required string SourceId { get; init; }
    public string? IdempotencyKey { get; init; }
    public required string RawKey { get; init; }
    public int Documents { get; init; }
    public long Bytes { get; init; }
    public BatchStatus Status { get; init; }
    public DateTime ReceivedAt { get; init; }
    public DateTime? PublishedAt { get; init; }
    public CleanedShard? Cleaned { get; init; }
}

public sealed record CleanedShard
{
    public required string ShardKey { get; init; }
    public int DocumentsOut { get; init; }
    public long BytesOut { get; init; }
    public DateTime CleanedAt { get; init; }
}
