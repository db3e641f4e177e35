using System.Text.Json;
using System.Text.Json.Serialization;
using Forge.Contracts;
using Forge.Model;
using Forge.ServiceDefaults;
using Forge.Storage.Artifacts;
using Forge.Tokenization;
using Forge.Trainer.Domain;
using MassTransit;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;

namespace Forge.Trainer.Apis;

/// <summary>A run as submitted: the model and training settings (missing fields keep their defaults) and the token shards.</summary>
public sealed record SubmitRunRequest
{
    public string? Name { get; init; }
    public GptConfig? Model { get; init; }
    public TrainingConfig? Training { get; init; }
    public string? TokenizerId { get; init; }
    public string? DatasetVersion { get; init; }
    public List<string>? TrainShards { get; init; }
    public List<string>? ValidationShards { get; init; }
}

public static class RunsApi
{
    internal static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.CamelCase) },
    };

    public static RouteGroupBuilder MapRunsApi(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/api/trainer/runs").WithTags("Training runs");
        group.MapPost("/", SubmitAsync).WithName("SubmitRun").WithSummary("Validates and queues a training run; any trainer replica with room claims it");
        group.MapGet("/", ListAsync).WithName("ListRuns").WithSummary("Training runs, newest first");
        group.MapGet("/{runId}", GetAsync).WithName("GetRun").WithSummary("A run: state, lease, step, loss curve, checkpoints, and the segments each trainer trained");
        group.MapPost("/{runId}/cancel", CancelAsync).WithName("CancelRun").WithSummary("Asks the trainer holding the run to stop");
        return group;
    }

    private static async Task<Results<Accepted<TrainingRun>, ProblemHttpResult>> SubmitAsync(
        HttpRequest request, TrainerStore store, IArtifactStore artifacts, IPublishEndpoint publisher, TimeProvider clock, CancellationToken cancellationToken)
    {
        var result = await ValidateAndQueueAsync(request, store, artifacts, publisher, clock, cancellationToken);
        await PublishRejectionAsync(result, publisher, clock, cancellationToken);
        return result;
    }

    /// <summary>A refused run is an event too, so dashboards and the orchestrator see it fail fast; nothing was started.</summary>
    internal static async Task PublishRejectionAsync(IResult result, IPublishEndpoint publisher, TimeProvider clock, CancellationToken cancellationToken)
    {
        if (result is INestedHttpResult { Result: var inner })
            result = inner;
        if (result is ProblemHttpResult { ProblemDetails.Extensions: var extensions }
            && extensions.TryGetValue("errors", out var errors) && errors is Dictionary<string, string[]> named)
        {
            var (field, reasons) = named.First();
            await publisher.Publish(new TrainingRunRejected(field, reasons[0], clock.GetUtcNow().UtcDateTime), cancellationToken);
        }
    }

    private static async Task<Results<Accepted<TrainingRun>, ProblemHttpResult>> ValidateAndQueueAsync(
        HttpRequest request, TrainerStore store, IArtifactStore artifacts, IPublishEndpoint publisher, TimeProvider clock, CancellationToken cancellationToken)
    {
        SubmitRunRequest? submission;
        bool vocabularyGiven;
        try
        {
            using var body = await JsonDocument.ParseAsync(request.Body, cancellationToken: cancellationToken);
            vocabularyGiven = body.RootElement.ValueKind == JsonValueKind.Object
                && body.RootElement.TryGetProperty("model", out var modelElement) && modelElement.ValueKind == JsonValueKind.Object
                && modelElement.TryGetProperty("vocabularySize", out _);
            submission = body.Deserialize<SubmitRunRequest>(Json);
        }
        catch (JsonException e)
        {
            return Problems.Invalid(e.Path is { Length: > 1 } path ? path.TrimStart('$', '.') : "body", e.Message.Split(". ")[0]);
        }
        if (submission is null)
            return Problems.BadRequest("Empty body", "Send the run as a JSON object.");
        var (run, field, problem) = await RunSubmissions.PlanAsync(submission, vocabularyGiven, TrainingRun.NewId(), artifacts, clock, cancellationToken);
        if (run is null)
            return Problems.Invalid(field!, problem!);
        await store.Runs.UpsertAsync(run, cancellationToken);
        await publisher.Publish(new StartTrainingRun(run.Id), cancellationToken);
        return TypedResults.Accepted($"/api/trainer/runs/{run.Id}", run);
    }

    private static async Task<Ok<IReadOnlyList<TrainingRun>>> ListAsync(TrainerStore store, CancellationToken cancellationToken) =>
        TypedResults.Ok(await store.Runs.FindAsync(_ => true, new() { SortBy = r => r.CreatedAt, Descending = true, Limit = 200 }, cancellationToken));

    private static async Task<Results<Ok<TrainingRun>, ProblemHttpResult>> GetAsync(string runId, TrainerStore store, CancellationToken cancellationToken) =>
        await store.Runs.GetAsync(runId, cancellationToken) is { } run ? TypedResults.Ok(run) : Problems.NotFound("run", runId);

    private static async Task<Results<Accepted<TrainingRun>, ProblemHttpResult>> CancelAsync(string runId, TrainerStore store, TimeProvider clock, CancellationToken cancellationToken)
    {
        var (run, conflict) = await RunCancellation.RequestAsync(store, runId, clock, cancellationToken);
        return run is not null ? TypedResults.Accepted($"/api/trainer/runs/{runId}", run)
            : conflict is not null ? Problems.Conflict(conflict)
            : Problems.NotFound("run", runId);
    }
}
