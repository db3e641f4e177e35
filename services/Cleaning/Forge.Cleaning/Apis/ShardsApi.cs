using Forge.Cleaning.Domain;
using Forge.Cleaning.Pipeline;
using Forge.Datasets;
using Forge.ServiceDefaults;
using Forge.Storage.Artifacts;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;

namespace Forge.Cleaning.Apis;

public sealed record CleaningReport(
    string DatasetId,
    int Batches,
    long DocumentsIn,
    long DocumentsOut,
    long BytesIn,
    long BytesOut,
    IReadOnlyDictionary<string, long> Dropped,
    IReadOnlyDictionary<string, List<DropSample>> Samples,
    IReadOnlyDictionary<string, long> Redactions);

public sealed record SealRequest(double? ValidationFraction);

public static class ShardsApi
{
    public static RouteGroupBuilder MapShardsApi(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/api/cleaning/datasets/{datasetId}").WithTags("Cleaning");
        group.MapGet("/shards", ListShardsAsync).WithName("ListShards").WithSummary("The clean shards of a dataset, one per batch, with counts, drop reasons and samples");
        group.MapGet("/report", GetReportAsync).WithName("GetCleaningReport").WithSummary("What cleaning kept and dropped across the dataset, by reason, with samples");
        group.MapGet("/settings", GetSettingsAsync).WithName("GetCleaningSettings").WithSummary("The cleaning settings the dataset's next batches get");
        group.MapPut("/settings", PutSettingsAsync).WithName("PutCleaningSettings").WithSummary("Sets the dataset's cleaning settings (missing fields keep their defaults)");
        group.MapPost("/versions", SealVersionAsync).WithName("SealVersion").WithSummary("Seals an immutable version from the clean shards so far");
        group.MapGet("/versions", ListVersionsAsync).WithName("ListVersions").WithSummary("The sealed versions of a dataset");
        group.MapGet("/versions/{number:int}", GetVersionAsync).WithName("GetVersion").WithSummary("A sealed version's manifest");
        group.MapGet("/failures", ListFailuresAsync).WithName("ListCleaningFailures").WithSummary("Batches whose cleaning failed after every retry, with the reason");
        group.MapGet("/sources/{sourceId}/versions", VersionsHoldingSourceAsync).WithName("VersionsHoldingSource").WithSummary("Lineage: the versions that hold a source's documents");
        return group;
    }

    private static async Task<Ok<IReadOnlyList<CleanShard>>> ListShardsAsync(string datasetId, CleaningStore store, CancellationToken cancellationToken) =>
        TypedResults.Ok(await store.Shards.FindAsync(s => s.DatasetId == datasetId, new() { SortBy = s => s.CleanedAt }, cancellationToken));

    private static async Task<Ok<IReadOnlyList<CleaningFailure>>> ListFailuresAsync(string datasetId, CleaningStore store, CancellationToken cancellationToken) =>
        TypedResults.Ok(await store.Failures.FindAsync(f => f.DatasetId == datasetId, new() { SortBy = f => f.FailedAt }, cancellationToken));

    private static async Task<Results<Ok<CleaningReport>, ProblemHttpResult>> GetReportAsync(string datasetId, CleaningStore store, CleaningSettingsProvider settings, CancellationToken cancellationToken)
    {
        var shards = await store.Shards.FindAsync(s => s.DatasetId == datasetId, new() { SortBy = s => s.CleanedAt }, cancellationToken);
        if (shards.Count == 0)
            return Problems.NotFound("cleaned dataset", datasetId);
        var samplesPerReason = (await settings.ForDatasetAsync(datasetId, cancellationToken)).SamplesPerReason;
        var dropped = new Dictionary<string, long>();
        var redactions = new Dictionary<string, long>();
        var samples = new Dictionary<string, List<DropSample>>();
        foreach (var shard in shards)
        {
            foreach (var (reason, count) in shard.Dropped)
                dropped[reason] = dropped.GetValueOrDefault(reason) + count;
            foreach (var (kind, count) in shard.Redactions)
                redactions[kind] = redactions.GetValueOrDefault(kind) + count;
            foreach (var (reason, list) in shard.Samples)
            {
                var kept = samples.TryGetValue(reason, out var existing) ? existing : samples[reason] = [];
                kept.AddRange(list.Take(samplesPerReason - kept.Count));
            }
        }
        return TypedResults.Ok(new CleaningReport(datasetId, shards.Count, shards.Sum(s => (long)s.DocumentsIn), shards.Sum(s => (long)s.DocumentsOut),
            shards.Sum(s => s.BytesIn), shards.Sum(s => s.BytesOut), dropped, samples, redactions));
    }

    private static async Task<Ok<CleaningSettings>> GetSettingsAsync(string datasetId, CleaningSettingsProvider settings, CancellationToken cancellationToken) =>
        TypedResults.Ok(await settings.ForDatasetAsync(datasetId, cancellationToken));

    private static async Task<Results<Ok<CleaningSettings>, ProblemHttpResult>> PutSettingsAsync(string datasetId, HttpRequest request, CleaningSettingsProvider settings, CancellationToken cancellationToken)
    {
        var (stored, problem) = await settings.StoreAsync(datasetId, request, cancellationToken);
        return problem is null ? TypedResults.Ok(stored!) : problem;
    }

    private static async Task<Results<Created<DatasetVersion>, ProblemHttpResult>> SealVersionAsync(string datasetId, SealRequest? request, VersionSealer sealer, CancellationToken cancellationToken)
    {
        var fraction = request?.ValidationFraction ?? 0.1;
        if (VersionSealer.ValidationFractionProblem(fraction) is { } invalid)
            return Problems.Invalid("validationFraction", invalid);
        var version = await sealer.SealAsync(datasetId, fraction, buildId: null, cancellationToken);
        return version is null
            ? Problems.NotFound("cleaned dataset", datasetId)
            : TypedResults.Created($"/api/cleaning/datasets/{datasetId}/versions/{version.Number}", version);
    }

    private static async Task<Ok<IReadOnlyList<DatasetVersion>>> ListVersionsAsync(string datasetId, CleaningStore store, CancellationToken cancellationToken) =>
        TypedResults.Ok(await store.Versions.FindAsync(v => v.DatasetId == datasetId, new() { SortBy = v => v.Number }, cancellationToken));

    private static async Task<Results<Ok<DatasetManifest>, ProblemHttpResult>> GetVersionAsync(string datasetId, int number, CleaningStore store, IArtifactStore artifacts, CancellationToken cancellationToken)
    {
        if (await store.Versions.GetAsync($"{datasetId}@{number}", cancellationToken) is not { } version)
            return Problems.NotFound("dataset version", $"{datasetId}@{number}");
        return TypedResults.Ok(DatasetManifest.FromJson(await artifacts.ReadAllBytesAsync(version.ManifestKey, cancellationToken)));
    }

    private static async Task<Ok<IReadOnlyList<DatasetVersion>>> VersionsHoldingSourceAsync(string datasetId, string sourceId, CleaningStore store, CancellationToken cancellationToken)
    {
        var versions = await store.Versions.FindAsync(v => v.DatasetId == datasetId, new() { SortBy = v => v.Number }, cancellationToken);
        return TypedResults.Ok<IReadOnlyList<DatasetVersion>>(versions.Where(v => v.Sources.Contains(sourceId)).ToList());
    }
}
