using System.Text.Json;
using System.Text.Json.Serialization;
using Forge.Contracts;
using Forge.Model;
using Forge.Storage.Artifacts;
using Forge.Trainer.Apis;
using Forge.Trainer.Domain;
using MassTransit;
using Microsoft.Extensions.Logging;

namespace Forge.Trainer.Consumers;

/// <summary>
/// A build's pretraining stage and cancellation. PretrainRequested is checked as the HTTP API checks a submission and
/// queued under the build's run id, so a repeated request finds its run (and, if it already ended, announces its end
/// again for the build); a refused one fails the build's stage, naming the field.
/// </summary>
public sealed class BuildCommandsConsumer(TrainerStore store, IArtifactStore artifacts, TimeProvider clock, ILogger<BuildCommandsConsumer> logger) :
    IConsumer<PretrainRequested>, IConsumer<CancelTrainingRunRequested>
{
    private static readonly JsonSerializerOptions ConfigJson = new(JsonSerializerDefaults.Web)
    {
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.CamelCase) },
    };

    public async Task Consume(ConsumeContext<PretrainRequested> context)
    {
        var request = context.Message;
        if (await store.Runs.GetAsync(request.RunId, context.CancellationToken) is { } existing)
        {
            // Finished while the build's orchestrator was away: say so again. Queued or running: the trainer carries on.
            if (RunEndings.Announcement(existing) is { } ended)
                await context.Publish(ended, ended.GetType(), context.CancellationToken);
            return;
        }
        SubmitRunRequest submission;
        try
        {
            submission = new SubmitRunRequest
            {
                Name = request.Name,
                Model = JsonSerializer.Deserialize<GptConfig>(request.ModelJson, ConfigJson),
                Training = JsonSerializer.Deserialize<TrainingConfig>(request.TrainingJson, ConfigJson),
                TokenizerId = request.TokenizerId,
                DatasetVersion = request.DatasetVersion,
                TrainShards = [.. request.TrainShards],
                ValidationShards = [.. request.ValidationShards],
            };
        }
        catch (JsonException e)
        {
            await context.Publish(new BuildStageFailed(request.BuildId, "pretrain", $"the model or training settings are not valid JSON: {e.Message}"), context.CancellationToken);
            return;
        }
        var (run, field, problem) = await RunSubmissions.PlanAsync(submission, vocabularyGiven: true, request.RunId, artifacts, clock, context.CancellationToken);
        if (run is null)
        {
            logger.LogWarning("Build {BuildId}: pretraining refused: {Field}: {Problem}", request.BuildId, field, problem);
            await context.Publish(new BuildStageFailed(request.BuildId, "pretrain", $"{field}: {problem}"), context.CancellationToken);
            return;
        }
        if (!await store.Runs.TryInsertAsync(run, context.CancellationToken))
            return; // a concurrent delivery recorded it first
        await context.Publish(new StartTrainingRun(run.Id), context.CancellationToken);
        logger.LogInformation("Build {BuildId}: run {RunId} queued ({Steps} steps)", request.BuildId, run.Id, run.Training.MaxSteps);
    }

    public async Task Consume(ConsumeContext<CancelTrainingRunRequested> context)
    {
        var (run, conflict) = await RunCancellation.RequestAsync(store, context.Message.RunId, clock, context.CancellationToken);
        logger.LogInformation("Cancel of run {RunId} ({Reason}): {Outcome}", context.Message.RunId, context.Message.Reason,
            run is not null ? "requested" : conflict ?? "no such run");
        if (run?.State == RunState.Cancelled)
            await context.Publish(new TrainingRunCancelled(run.Id, run.Step), context.CancellationToken);
    }
}
