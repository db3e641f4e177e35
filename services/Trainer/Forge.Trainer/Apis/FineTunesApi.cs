using System.Text.Json;
using Forge.Contracts;
using Forge.ServiceDefaults;
using Forge.Trainer.Domain;
using MassTransit;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;

namespace Forge.Trainer.Apis;

/// <summary>
/// A fine-tune as submitted: the checkpoint to start from (a manifest key), the JSONL of examples, and optionally the
/// base's shards to replay and to validate on, and the settings (missing fields keep FineTuneSettings' defaults).
/// </summary>
public sealed record SubmitFineTuneRequest
{
    public string? Name { get; init; }
    public string? BaseCheckpointKey { get; init; }
    public string? BaseVersionId { get; init; }
    public string? SftDataKey { get; init; }
    public List<string>? ReplayShards { get; init; }
    public List<string>? ValidationShards { get; init; }
    public string? DatasetVersion { get; init; }
    public FineTuneSettings? Settings { get; init; }
}

public static class FineTunesApi
{
    public static RouteGroupBuilder MapFineTunesApi(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/api/trainer/finetunes").WithTags("Fine-tunes");
        group.MapPost("/", SubmitAsync).WithName("SubmitFineTune")
            .WithSummary("Checks and queues a fine-tune of a checkpoint on SFT examples (JSONL in the artifact store); the run is then at /api/trainer/runs/{id}");
        return group;
    }

    private static async Task<Results<Accepted<TrainingRun>, ProblemHttpResult>> SubmitAsync(
        HttpRequest request, TrainerStore store, FineTunes fineTunes, IPublishEndpoint publisher, TimeProvider clock, CancellationToken cancellationToken)
    {
        var result = await ValidateAndQueueAsync(request, store, fineTunes, publisher, cancellationToken);
        await RunsApi.PublishRejectionAsync(result, publisher, clock, cancellationToken);
        return result;
    }

    private static async Task<Results<Accepted<TrainingRun>, ProblemHttpResult>> ValidateAndQueueAsync(
        HttpRequest request, TrainerStore store, FineTunes fineTunes, IPublishEndpoint publisher, CancellationToken cancellationToken)
    {
        SubmitFineTuneRequest? submission;
        try
        {
            submission = await JsonSerializer.DeserializeAsync<SubmitFineTuneRequest>(request.Body, RunsApi.Json, cancellationToken);
        }
        catch (JsonException e)
        {
            return Problems.Invalid(e.Path is { Length: > 1 } path ? path.TrimStart('$', '.') : "body", e.Message.Split(". ")[0]);
        }
        if (submission is null)
            return Problems.BadRequest("Empty body", "Send the fine-tune as a JSON object.");

        var plan = await fineTunes.PlanAsync(new FineTuneRequested(
            TrainingRun.NewId(),
            submission.Name ?? "",
            submission.BaseVersionId ?? "",
            submission.BaseCheckpointKey ?? "",
            TokenizerId: "",
            submission.SftDataKey ?? "",
            submission.ReplayShards ?? [],
            submission.ValidationShards ?? [],
            submission.DatasetVersion is { } version ? [version] : [],
            submission.Settings ?? new FineTuneSettings(),
            RetrainingId: null), cancellationToken);
        if (plan.Field is not null)
            return Problems.Invalid(plan.Field, plan.Problem!);
        await store.Runs.UpsertAsync(plan.Run, cancellationToken);
        await publisher.Publish(new StartTrainingRun(plan.Run.Id), cancellationToken);
        return TypedResults.Accepted($"/api/trainer/runs/{plan.Run.Id}", plan.Run);
    }
}
