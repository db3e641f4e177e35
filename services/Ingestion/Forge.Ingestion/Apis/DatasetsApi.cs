using Forge.Contracts;
using Forge.Ingestion.Domain;
using Forge.ServiceDefaults;
using MassTransit;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;

namespace Forge.Ingestion.Apis;

public sealed record CreateDatasetRequest(string? Id, string? Description);

public sealed record DatasetTotals(int Batches, int Documents, long Bytes, int CleanedBatches, int CleanedDocuments, long CleanedBytes);

public sealed record DatasetView(string Id, string Description, DateTime CreatedAt, DatasetTotals Totals, IReadOnlyList<Source> Sources, IReadOnlyList<Batch> Batches);

public sealed record DatasetSummary(string Id, string Description, DateTime CreatedAt);

public static class DatasetsApi
{
    public static RouteGroupBuilder MapDatasetsApi(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/api/ingestion/datasets").WithTags("Datasets");
        group.MapPost("/", CreateDatasetAsync).WithName("CreateDataset").WithSummary("Creates a dataset that documents can be sent to");
        group.MapGet("/", ListDatasetsAsync).WithName("ListDatasets").WithSummary("Lists datasets");
        group.MapGet("/{datasetId}", GetDatasetAsync).WithName("GetDataset").WithSummary("A dataset with its sources, batches, their cleaning state and totals");
        group.MapGet("/{datasetId}/batches/{batchId}", GetBatchAsync).WithName("GetBatch").WithSummary("One batch");
        group.MapGet("/{datasetId}/sources", ListSourcesAsync).WithName("ListSources").WithSummary("The sources documents came from");
        group.MapDelete("/{datasetId}/sources/{sourceName}", DeleteSourceAsync).WithName("DeleteSource")
            .WithSummary("Deletes a source: its documents are left out of every dataset version sealed afterwards");
        return group;
    }

    private static async Task<Results<Created<DatasetSummary>, ProblemHttpResult>> CreateDatasetAsync(
        CreateDatasetRequest? request, IngestionStore store, TimeProvider clock, CancellationToken cancellationToken)
    {
        if (request is null)
            return Problems.BadRequest("Empty body", "Send {\"id\": \"my-dataset\"}.");
        if (!DatasetIds.IsValid(request.Id))
            return Problems.Invalid("id", DatasetIds.Rule);
        var dataset = new Dataset { Id = request.Id, Description = request.Description ?? "", CreatedAt = clock.GetUtcNow().UtcDateTime };
        if (!await store.Datasets.TryInsertAsync(dataset, cancellationToken))
            return Problems.Conflict($"Dataset '{request.Id}' already exists.");
        return TypedResults.Created($"/api/ingestion/datasets/{dataset.Id}", new DatasetSummary(dataset.Id, dataset.Description, dataset.CreatedAt));
    }

    private static async Task<Ok<IReadOnlyList<DatasetSummary>>> ListDatasetsAsync(IngestionStore store, CancellationToken cancellationToken)
    {
        var datasets = await store.Datasets.FindAsync(_ => true, new() { SortBy = d => d.Id }, cancellationToken);
        return TypedResults.Ok<IReadOnlyList<DatasetSummary>>(datasets.Select(d => new DatasetSummary(d.Id, d.Description, d.CreatedAt)).ToList());
    }

    private static async Task<Results<Ok<DatasetView>, ProblemHttpResult>> GetDatasetAsync(string datasetId, IngestionStore store, CancellationToken cancellationToken)
    {
        if (await store.Datasets.GetAsync(datasetId, cancellationToken) is not { } dataset)
            return Problems.NotFound("dataset", datasetId);
        var batches = await store.Batches.FindAsync(b => b.DatasetId == datasetId, new() { SortBy = b => b.ReceivedAt }, cancellationToken);
        var sources = await store.Sources.FindAsync(s => s.DatasetId == datasetId, new() { SortBy = s => s.CreatedAt }, cancellationToken);
        var cleaned = batches.Where(b => b.Cleaned is not null).ToList();
        var totals = new DatasetTotals(
            batches.Count, batches.Sum(b => b.Documents), batches.Sum(b => b.Bytes),
            cleaned.Count, cleaned.Sum(b => b.Cleaned!.DocumentsOut), cleaned.Sum(b => b.Cleaned!.BytesOut));
        return TypedResults.Ok(new DatasetView(dataset.Id, dataset.Description, dataset.CreatedAt, totals, sources, batches));
    }

    private static async Task<Results<Ok<Batch>, ProblemHttpResult>> GetBatchAsync(string datasetId, string batchId, IngestionStore store, CancellationToken cancellationToken)
    {
        var batch = await store.Batches.GetAsync(batchId, cancellationToken);
        return batch is not null && batch.DatasetId == datasetId ? TypedResults.Ok(batch) : Problems.NotFound("batch", batchId);
    }

    private static async Task<Results<Ok<IReadOnlyList<Source>>, ProblemHttpResult>> ListSourcesAsync(string datasetId, IngestionStore store, CancellationToken cancellationToken)
    {
        if (await store.Datasets.GetAsync(datasetId, cancellationToken) is null)
            return Problems.NotFound("dataset", datasetId);
        return TypedResults.Ok(await store.Sources.FindAsync(s => s.DatasetId == datasetId, new() { SortBy = s => s.CreatedAt }, cancellationToken));
    }

    private static async Task<Results<Ok<Source>, ProblemHttpResult>> DeleteSourceAsync(
        string datasetId, string sourceName, IngestionStore store, IPublishEndpoint publisher, TimeProvider clock, CancellationToken cancellationToken)
    {
        if (await store.Sources.GetAsync(SourceIds.For(datasetId, sourceName), cancellationToken) is not { } source)
            return Problems.NotFound("source", sourceName);
        var deleted = source.DeletedAt is null ? source with { DeletedAt = clock.GetUtcNow().UtcDateTime } : source;
        await store.Sources.UpsertAsync(deleted, cancellationToken);
        // Published again on a repeated delete: consumers treat it idempotently, and a lost first publish is mended.
        await publisher.Publish(new SourceDeleted(datasetId, deleted.Id, deleted.DeletedAt!.Value), cancellationToken);
        return TypedResults.Ok(deleted);
    }
}
