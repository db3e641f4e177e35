using System.Text.RegularExpressions;
using Forge.Orchestrator.Domain;
using Forge.ServiceDefaults;
using Forge.Storage.Artifacts;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Routing;

namespace Forge.Orchestrator.Apis;

public sealed record RegisterModelRequest
{
    public string? Model { get; init; }
    public string? RunId { get; init; }
    public string? CheckpointKey { get; init; }
    public string? TokenizerId { get; init; }
    public List<string?>? DatasetVersions { get; init; }
    /// <summary>Metrics already measured: eval set to metric name to value.</summary>
    public Dictionary<string, Dictionary<string, double>?>? Metrics { get; init; }
    public bool AutoPromote { get; init; }
    public string? By { get; init; }
}

public sealed record RecordMetricsRequest
{
    public string? EvalSet { get; init; }
    public Dictionary<string, double>? Metrics { get; init; }
}

public sealed record PromoteRequest
{
    public string? By { get; init; }
    public string? Reason { get; init; }
}

public sealed record RollbackRequest
{
    public string? Model { get; init; }
    public string? By { get; init; }
    public string? Reason { get; init; }
}

public sealed record ModelVersionView(
    string Id,
    string Model,
    int Number,
    ModelState State,
    string RunId,
    string CheckpointKey,
    string TokenizerId,
    IReadOnlyList<string> DatasetVersions,
    IReadOnlyDictionary<string, Dictionary<string, double>> Metrics,
    bool AutoPromote,
    DateTime RegisteredAt,
    IReadOnlyList<HistoryEntry> History,
    string? BaseVersionId,
    string? RetrainingId)
{
    public static ModelVersionView Of(ModelVersion version) => new(
        version.Id, version.Model, version.Number, version.State, version.RunId, version.CheckpointKey, version.TokenizerId, version.DatasetVersions,
        version.Metrics.ToDictionary(m => m.EvalSet, m => m.Values, StringComparer.Ordinal),
        version.AutoPromote, version.RegisteredAt, version.History, version.BaseVersionId, version.RetrainingId);
}

public sealed record PromotionView(ModelVersionView Version, string? RetiredVersionId);

public sealed record RollbackView(ModelVersionView Restored, ModelVersionView Retired);

/// <summary>The model registry: versions with their lineage and metrics, gated promotion and rollback.</summary>
public static partial class ModelsApi
{
    public static RouteGroupBuilder MapModelsApi(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/api/orchestrator/models").WithTags("Model registry");
        group.MapPost("/", RegisterAsync).WithName("RegisterModelVersion")
            .WithSummary("Registers a candidate version: checkpoint, run, tokenizer, dataset versions and any metrics; the same checkpoint again answers the first");
        group.MapGet("/", ListAsync).WithName("ListModelVersions").WithSummary("Model versions, optionally of one model or in one state");
        group.MapGet("/{id}", GetAsync).WithName("GetModelVersion").WithSummary("A model version with its metrics and history");
        group.MapPost("/{id}/metrics", RecordMetricsAsync).WithName("RecordModelMetrics")
            .WithSummary("Records a version's metrics on an eval set; a candidate registered with autoPromote then tries a gated promotion");
        group.MapPost("/{id}/promote", PromoteAsync).WithName("PromoteModelVersion")
            .WithSummary("Promotes the version when its model's policy allows (409 with the reasons when not); the promoted one it replaces is retired");
        group.MapPost("/rollback", RollbackAsync).WithName("RollBackModel")
            .WithSummary("Retires the promoted version of a model and restores the one promoted before it");
        return group;
    }

    [GeneratedRegex("^[a-z0-9][a-z0-9._-]{0,63}$")]
    internal static partial Regex ModelNamePattern();

    internal const string ModelNameRule = "A model name is 1 to 64 characters: lowercase letters, digits, '.', '_' or '-', starting with a letter or digit.";

    private static async Task<Results<Created<ModelVersionView>, Ok<ModelVersionView>, ProblemHttpResult>> RegisterAsync(
        RegisterModelRequest? request, ModelRegistry registry, CancellationToken cancellationToken)
    {
        if (request is null)
            return Problems.BadRequest("Empty body", "Send {\"model\", \"runId\", \"checkpointKey\", \"tokenizerId\", \"datasetVersions\"}.");
        if (CheckRegistration(request) is { } problem)
            return Problems.Invalid(problem.Field, problem.Message);
        var metrics = (request.Metrics ?? []).ToDictionary(m => m.Key, m => m.Value!, StringComparer.Ordinal);
        var (version, result) = await registry.RegisterAsync(
            new NewModelVersion(request.Model!, request.RunId!, request.CheckpointKey!, request.TokenizerId!, request.DatasetVersions!.Select(d => d!).ToList(),
                metrics, request.AutoPromote, request.By ?? "api"),
            cancellationToken);
        return result switch
        {
            RegistrationResult.Created => TypedResults.Created($"/api/orchestrator/models/{version.Id}", ModelVersionView.Of(version)),
            RegistrationResult.Existing => TypedResults.Ok(ModelVersionView.Of(version)),
            _ => Problems.Conflict($"Checkpoint '{version.CheckpointKey}' of run '{version.RunId}' is already registered as {version.Id} with another tokenizer or other dataset versions."),
        };
    }

    private static async Task<Results<Ok<IReadOnlyList<ModelVersionView>>, ProblemHttpResult>> ListAsync(
        [FromQuery] string? model, [FromQuery] string? state, RegistryStore store, CancellationToken cancellationToken)
    {
        ModelState? wanted = null;
        if (state is not null)
        {
            if (!Enum.TryParse<ModelState>(state, ignoreCase: true, out var parsed) || !Enum.IsDefined(parsed))
                return Problems.Invalid("state", "must be candidate, promoted or retired");
            wanted = parsed;
        }
        var versions = model is null
            ? await store.Versions.FindAsync(_ => true, cancellationToken: cancellationToken)
            : await store.Versions.FindAsync(v => v.Model == model, cancellationToken: cancellationToken);
        return TypedResults.Ok<IReadOnlyList<ModelVersionView>>(versions
            .Where(v => wanted is null || v.State == wanted)
            .OrderBy(v => v.Model, StringComparer.Ordinal).ThenBy(v => v.Number)
            .Select(ModelVersionView.Of)
            .ToList());
    }

    private static async Task<Results<Ok<ModelVersionView>, ProblemHttpResult>> GetAsync(string id, RegistryStore store, CancellationToken cancellationToken) =>
        await store.Versions.GetAsync(id, cancellationToken) is { } version ? TypedResults.Ok(ModelVersionView.Of(version)) : Problems.NotFound("model version", id);

    private static async Task<Results<Ok<ModelVersionView>, ProblemHttpResult>> RecordMetricsAsync(
        string id, RecordMetricsRequest? request, ModelRegistry registry, CancellationToken cancellationToken)
    {
        if (request is null)
            return Problems.BadRequest("Empty body", "Send {\"evalSet\": \"...\", \"metrics\": {\"bleu\": 31.2}}.");
        if (request.EvalSet is null || !PromotionPolicy.EvalSetNamePattern().IsMatch(request.EvalSet))
            return Problems.Invalid("$.evalSet", "must name an eval set: 1 to 64 lowercase letters, digits, '.', '_' or '-'");
        if (CheckMetrics("$.metrics", request.Metrics) is { } problem)
            return Problems.Invalid(problem.Field, problem.Message);
        var version = await registry.RecordMetricsAsync(id, request.EvalSet, request.Metrics!, null, cancellationToken);
        return version is null ? Problems.NotFound("model version", id) : TypedResults.Ok(ModelVersionView.Of(version));
    }

    private static async Task<Results<Ok<PromotionView>, ProblemHttpResult>> PromoteAsync(
        string id, PromoteRequest? request, ModelRegistry registry, CancellationToken cancellationToken)
    {
        if (CheckActor(request?.By, request?.Reason) is { } problem)
            return Problems.Invalid(problem.Field, problem.Message);
        if (await registry.PromoteAsync(id, request!.By!, request.Reason!, cancellationToken) is not { } outcome)
            return Problems.NotFound("model version", id);
        if (outcome.Result == PromotionResult.Refused)
        {
            return TypedResults.Problem(
                title: "Promotion refused",
                detail: $"{id} does not pass the promotion policy of {outcome.Version.Model}: {string.Join("; ", outcome.Reasons)}.",
                statusCode: StatusCodes.Status409Conflict,
                extensions: new Dictionary<string, object?> { ["modelVersionId"] = id, ["reasons"] = outcome.Reasons });
        }
        return TypedResults.Ok(new PromotionView(ModelVersionView.Of(outcome.Version), outcome.RetiredVersionId));
    }

    private static async Task<Results<Ok<RollbackView>, ProblemHttpResult>> RollbackAsync(
        RollbackRequest? request, ModelRegistry registry, CancellationToken cancellationToken)
    {
        if (request?.Model is not { } model || !ModelNamePattern().IsMatch(model))
            return Problems.Invalid("$.model", ModelNameRule);
        if (CheckActor(request.By, request.Reason) is { } problem)
            return Problems.Invalid(problem.Field, problem.Message);
        var outcome = await registry.RollbackAsync(model, request.By!, request.Reason!, cancellationToken);
        if (outcome is null)
            return Problems.NotFound("model", model);
        if (outcome.Refusal is not null)
            return Problems.Conflict(outcome.Refusal);
        return TypedResults.Ok(new RollbackView(ModelVersionView.Of(outcome.Restored!), ModelVersionView.Of(outcome.Retired!)));
    }

    private static (string Field, string Message)? CheckRegistration(RegisterModelRequest request)
    {
        if (request.Model is null || !ModelNamePattern().IsMatch(request.Model))
            return ("$.model", ModelNameRule);
        if (string.IsNullOrWhiteSpace(request.RunId) || request.RunId.Length > 200)
            return ("$.runId", "must be the training run's id, 1 to 200 characters");
        try
        {
            ArtifactKey.Validate(request.CheckpointKey!);
        }
        catch (ArgumentException e)
        {
            return ("$.checkpointKey", request.CheckpointKey is null ? "is required: the checkpoint's artifact key" : e.Message);
        }
        if (string.IsNullOrWhiteSpace(request.TokenizerId) || request.TokenizerId.Length > 200)
            return ("$.tokenizerId", "must be the tokenizer's id, 1 to 200 characters");
        if (request.DatasetVersions is not { Count: > 0 } datasets)
            return ("$.datasetVersions", "must list the dataset versions the model was trained on (at least one)");
        for (var i = 0; i < datasets.Count; i++)
        {
            if (string.IsNullOrWhiteSpace(datasets[i]) || datasets[i]!.Length > 200)
                return ($"$.datasetVersions[{i}]", "must be a dataset version id, 1 to 200 characters");
        }
        foreach (var (evalSet, values) in request.Metrics ?? [])
        {
            if (!PromotionPolicy.EvalSetNamePattern().IsMatch(evalSet))
                return ($"$.metrics.{evalSet}", "is not an eval set name: 1 to 64 lowercase letters, digits, '.', '_' or '-'");
            if (CheckMetrics($"$.metrics.{evalSet}", values) is { } problem)
                return problem;
        }
        if (request.By is { Length: 0 or > 100 })
            return ("$.by", "must have 1 to 100 characters");
        return null;
    }

    private static (string Field, string Message)? CheckMetrics(string field, Dictionary<string, double>? metrics)
    {
        if (metrics is not { Count: > 0 })
            return (field, "must be an object of metric names to numbers, with at least one");
        foreach (var name in metrics.Keys)
        {
            if (!PromotionPolicy.MetricNamePattern().IsMatch(name))
                return ($"{field}.{name}", "is not a metric name: a letter then up to 63 letters, digits, '_' or '-'");
        }
        return null;
    }

    private static (string Field, string Message)? CheckActor(string? by, string? reason)
    {
        if (string.IsNullOrWhiteSpace(by) || by.Length > 100)
            return ("$.by", "must say who asks: 1 to 100 characters");
        if (string.IsNullOrWhiteSpace(reason) || reason.Length > 1000)
            return ("$.reason", "must say why: 1 to 1000 characters");
        return null;
    }
}
