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
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
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
        // A refused run is an event too, so dashboards and the orchestrator see it fail fast; nothing was started.
        if (result.Result is ProblemHttpResult { ProblemDetails.Extensions: var extensions }
            && extensions.TryGetValue("errors", out var errors) && errors is Dictionary<string, string[]> named)
        {
            var (field, reasons) = named.First();
            await publisher.Publish(new TrainingRunRejected(field, reasons[0], clock.GetUtcNow().UtcDateTime), cancellationToken);
        }
        return result;
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
        if (submission.TrainShards is not { Count: > 0 } trainShards)
            return Problems.Invalid("trainShards", "Name at least one token shard to train on.");
        var validationShards = submission.ValidationShards ?? [];

        var headers = new List<TokenShardHeader>();
        foreach (var (key, field) in trainShards.Select((k, i) => (k, $"trainShards[{i}]")).Concat(validationShards.Select((k, i) => (k, $"validationShards[{i}]"))))
        {
            var (header, problem) = await ReadHeaderAsync(artifacts, key, cancellationToken);
            if (problem is not null)
                return Problems.Invalid(field, problem);
            headers.Add(header!);
        }
        var tokenizerId = submission.TokenizerId ?? headers[0].TokenizerId;
        if (headers.FirstOrDefault(h => h.TokenizerId != tokenizerId) is { } other)
            return Problems.Invalid(submission.TokenizerId is null ? "validationShards" : "tokenizerId", $"The shards come from tokenizer '{other.TokenizerId}', not '{tokenizerId}'.");

        var vocabulary = headers.Max(h => h.VocabularySize);
        // Without an explicit vocabulary size the model takes the shards' own.
        var model = submission.Model ?? new GptConfig();
        if (!vocabularyGiven)
            model = model with { VocabularySize = vocabulary };
        if (model.Problems() is [var modelProblem, ..])
            return Problems.Invalid("model", modelProblem);
        if (model.VocabularySize < vocabulary)
            return Problems.Invalid("model.vocabularySize", $"{model.VocabularySize} is smaller than the shards' vocabulary of {vocabulary}.");
        var training = submission.Training ?? new TrainingConfig();
        if (training.Problems() is [var trainingProblem, ..])
            return Problems.Invalid("training", trainingProblem);
        var trainTokens = headers.Take(trainShards.Count).Sum(h => h.TokenCount);
        if (model.ContextLength + 1 > trainTokens)
            return Problems.Invalid("model.contextLength", $"{model.ContextLength} is longer than the {trainTokens} tokens of training data.");
        if (validationShards.Count > 0 && model.ContextLength + 1 > headers.Skip(trainShards.Count).Sum(h => h.TokenCount))
            return Problems.Invalid("model.contextLength", $"{model.ContextLength} is longer than the validation data.");

        var run = new TrainingRun
        {
            Id = $"run-{Guid.CreateVersion7():N}"[..20],
            Name = submission.Name ?? "",
            Model = model,
            Training = training,
            TokenizerId = tokenizerId,
            DatasetVersion = submission.DatasetVersion,
            TrainShards = trainShards,
            ValidationShards = validationShards,
            State = RunState.Queued,
            CreatedAt = clock.GetUtcNow().UtcDateTime,
        };
        await store.Runs.UpsertAsync(run, cancellationToken);
        await publisher.Publish(new StartTrainingRun(run.Id), cancellationToken);
        return TypedResults.Accepted($"/api/trainer/runs/{run.Id}", run);
    }

    private static async Task<(TokenShardHeader?, string?)> ReadHeaderAsync(IArtifactStore artifacts, string key, CancellationToken cancellationToken)
    {
        try
        {
            ArtifactKey.Validate(key);
            await using var stream = await artifacts.OpenReadAsync(key, cancellationToken);
            var bytes = new byte[TokenShardHeader.Size];
            await stream.ReadExactlyAsync(bytes, cancellationToken);
            return (TokenShardHeader.Read(bytes), null);
        }
        catch (ArtifactNotFoundException)
        {
            return (null, $"There is no token shard '{key}'.");
        }
        catch (Exception e) when (e is InvalidDataException or EndOfStreamException or ArgumentException)
        {
            return (null, $"'{key}' is not a token shard: {e.Message}");
        }
    }

    private static async Task<Ok<IReadOnlyList<TrainingRun>>> ListAsync(TrainerStore store, CancellationToken cancellationToken) =>
        TypedResults.Ok(await store.Runs.FindAsync(_ => true, new() { SortBy = r => r.CreatedAt, Descending = true, Limit = 200 }, cancellationToken));

    private static async Task<Results<Ok<TrainingRun>, ProblemHttpResult>> GetAsync(string runId, TrainerStore store, CancellationToken cancellationToken) =>
        await store.Runs.GetAsync(runId, cancellationToken) is { } run ? TypedResults.Ok(run) : Problems.NotFound("run", runId);

    private static async Task<Results<Accepted<TrainingRun>, ProblemHttpResult>> CancelAsync(string runId, TrainerStore store, TimeProvider clock, CancellationToken cancellationToken)
    {
        for (var attempt = 0; attempt < 5; attempt++)
        {
            if (await store.Runs.GetAsync(runId, cancellationToken) is not { } run)
                return Problems.NotFound("run", runId);
            if (run.State is RunState.Completed or RunState.Failed or RunState.Cancelled)
                return Problems.Conflict($"Run {runId} has already ended ({run.State}).");
            // A queued run nobody holds ends here; a running one is stopped by its trainer at its next heartbeat.
            var next = run.State == RunState.Queued
                ? run with { State = RunState.Cancelled, CancelRequested = true, FinishedAt = clock.GetUtcNow().UtcDateTime }
                : run with { CancelRequested = true };
            var state = run.State;
            var replaced = run.Lease is { Epoch: var epoch }
                ? await store.Runs.TryReplaceAsync(next, r => r.State == state && r.Lease != null && r.Lease.Epoch == epoch, cancellationToken)
                : await store.Runs.TryReplaceAsync(next, r => r.State == state && r.Lease == null, cancellationToken);
            if (replaced)
                return TypedResults.Accepted($"/api/trainer/runs/{runId}", next);
        }
        return Problems.Conflict($"Run {runId} kept changing; try again.");
    }
}
