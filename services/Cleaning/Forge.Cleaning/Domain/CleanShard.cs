using Forge.Storage.Metadata;

namespace Forge.Cleaning.Domain;

/// <summary>One clean shard per ingested batch; the batch id is the natural key, so a replay cannot add a second.</summary>
public sealed record CleanShard : IDocument
{
    public required string Id { get; init; }
    public required string DatasetId { get; init; }
    public required string ShardKey { get; init; }
    public int DocumentsIn { get; init; }
    public int DocumentsOut { get; init; }
    public long BytesIn { get; init; }
    public long BytesOut { get; init; }
    public Dictionary<string, int> Dropped { get; init; } = [];
    public DateTime CleanedAt { get; init; }
}

public sealed class CleaningStore(IMetadataStore store)
{
    public IDocumentCollection<CleanShard> Shards { get; } = store.Collection<CleanShard>("cleaning_shards");
}
