using Forge.Storage.Metadata;

namespace Forge.Ingestion.Domain;

/// <summary>The ingestion service's collections.</summary>
public sealed class IngestionStore(IMetadataStore store)
{
    public IDocumentCollection<Dataset> Datasets { get; } = store.Collection<Dataset>("ingestion_datasets");
    public IDocumentCollection<Batch> Batches { get; } = store.Collection<Batch>("ingestion_batches");
    public IDocumentCollection<Source> Sources { get; } = store.Collection<Source>("ingestion_sources");

    public async Task EnsureIndexesAsync(CancellationToken cancellationToken)
    {
        await Batches.EnsureIndexAsync(b => b.DatasetId, cancellationToken: cancellationToken);
        await Batches.EnsureIndexAsync(b => b.Status, cancellationToken: cancellationToken);
        await Sources.EnsureIndexAsync(s => s.DatasetId, cancellationToken: cancellationToken);
    }
}
