using System.Text.RegularExpressions;
using Forge.Ingestion.Domain;
using Forge.ServiceDefaults;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Routing;

namespace Forge.Ingestion.Apis;

public sealed record CreateDatasetRequest(string? Id, string? Description);

public sealed record DatasetTotals(int Batches, int Documents, long Bytes, int CleanedBatches, int CleanedDocuments, long CleanedBytes);

public sealed record DatasetView(string Id, string Description, DateTime CreatedAt, DatasetTotals Totals, IReadOnlyList<Batch> Batches);

public sealed record DatasetSummary(string Id, string Description, DateTime CreatedAt);

public static partial class DatasetsApi
{
    public static RouteGroupBuilder MapDatasetsApi(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/api/ingestion/datasets").WithTags("Datasets");
        group.MapPost("/", CreateDatasetAsync).WithName("CreateDataset").WithSummary("Creates a dataset that batches can be posted to");
        group.MapGet("/", ListDatasetsAsync).WithName("ListDatasets").WithSummary("Lists datasets");
        group.MapGet("/{datasetId}", GetDatasetAsync).WithName("GetDataset").WithSummary("A dataset with its batches, their cleaning state and totals");
        group.MapPost("/{datasetId}/documents", PostDocumentsAsync).WithName("PostDocuments")
            .WithSummary("Stores a JSON array of text documents as one batch; an Idempotency-Key header makes retries store it once");
        group.MapGet("/{datasetId}/batches/{batchId}", GetBatchAsync).WithName("GetBatch").WithSummary("One batch");
        return group;
    }

    [GeneratedRegex("^[a-z0-9][a-z0-9._-]{0,63}$")]
    private static partial Regex DatasetIdPattern();

    private static async Task<Results<Created<DatasetSummary>, ProblemHttpResult>> CreateDatasetAsync(
        CreateDatasetRequest? request, IngestionStore store, TimeProvider clock, CancellationToken cancellationToken)
    {
        if (request is null)
            return Problems.BadRequest("Empty body", "Send {\"id\": \"my-dataset\"}.");
        if (string.IsNullOrEmpty(request.Id) || !DatasetIdPattern().IsMatch(request.Id))
            return Problems.Invalid("id", "A dataset id is 1 to 64 characters: lowercase letters, digits, '.', '_' or '-', starting with a letter or digit.");
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
        var cleaned = batches.Where(b => b.Cleaned is not null).ToList();
        var totals = new DatasetTotals(
            batches.Count, batches.Sum(b => b.Documents), batches.Sum(b => b.Bytes),
            cleaned.Count, cleaned.Sum(b => b.Cleaned!.DocumentsOut), cleaned.Sum(b => b.Cleaned!.BytesOut));
        return TypedResults.Ok(new DatasetView(dataset.Id, dataset.Description, dataset.CreatedAt, totals, batches));
    }

    private static async Task<Results<Ok<Batch>, ProblemHttpResult>> GetBatchAsync(string datasetId, string batchId, IngestionStore store, CancellationToken cancellationToken)
    {
        var batch = await store.Batches.GetAsync(batchId, cancellationToken);
        return batch is not null && batch.DatasetId == datasetId ? TypedResults.Ok(batch) : Problems.NotFound("batch", batchId);
    }

    private static async Task<Results<Accepted<Batch>, Ok<Batch>, ProblemHttpResult>> PostDocumentsAsync(
        string datasetId,
        HttpRequest request,
        [FromHeader(Name = "Idempotency-Key")] string? idempotencyKey,
        IngestionStore store,
        BatchIngestor ingestor,
        CancellationToken cancellationToken)
    {
        if (request.ContentType is { } contentType && !contentType.Contains("json", StringComparison.OrdinalIgnoreCase))
            return Problems.UnsupportedMediaType($"Send the documents as application/json, not {contentType}.");
        if (idempotencyKey is { Length: 0 or > 200 })
            return Problems.Invalid("Idempotency-Key", "The key must have 1 to 200 characters.");
        if (await store.Datasets.GetAsync(datasetId, cancellationToken) is null)
            return Problems.NotFound("dataset", datasetId);

        // Kestrel enforces the body limit while this reads, answering 413 through the exception handler.
        using var body = new MemoryStream();
        await request.Body.CopyToAsync(body, cancellationToken);
        var (documents, error) = DocumentBatchParser.Parse(body.GetBuffer().AsMemory(0, (int)body.Length));
        if (error is not null)
            return error.Status == StatusCodes.Status400BadRequest ? Problems.BadRequest("Malformed request", error.Message) : Problems.Invalid(error.Field, error.Message);

        var outcome = await ingestor.IngestAsync(datasetId, idempotencyKey, documents!, cancellationToken);
        var location = $"/api/ingestion/datasets/{datasetId}/batches/{outcome.Batch.Id}";
        return outcome.Created ? TypedResults.Accepted(location, outcome.Batch) : TypedResults.Ok(outcome.Batch);
    }
}
