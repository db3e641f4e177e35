using Forge.Contracts;
using Forge.Orchestrator.Domain;
using MassTransit;
using Microsoft.Extensions.Logging;

namespace Forge.Orchestrator.Consumers;

/// <summary>
/// Turns a feedback retraining request into a fine-tune of the model's promoted version (the version the feedback
/// was about when none is promoted): the feedback-derived examples mixed with a replay of the version's own training
/// shards, measured on its held-out shards. The run is named after the model, so the result is registered as the
/// model's next version, evaluated, and promoted only if it passes the family's gates. The run id derives from the
/// request's, so a redelivered request asks for the same run and the trainer keeps one.
/// </summary>
public sealed class RetrainFromFeedbackConsumer(RegistryStore store, RetrainingOptions options, ILogger<RetrainFromFeedbackConsumer> logger) : IConsumer<RetrainingRequested>
{
    public async Task Consume(ConsumeContext<RetrainingRequested> context)
    {
        var request = context.Message;
        var family = await store.Families.GetAsync(request.Model, context.CancellationToken);
        var baseId = family?.PromotedVersionId ?? request.BaseVersionId;
        if (await store.Versions.GetAsync(baseId, context.CancellationToken) is not { } baseVersion)
        {
            logger.LogWarning("Retraining {RetrainingId} of {Model}: there is no version {BaseVersionId} to fine-tune; ignored", request.RetrainingId, request.Model, baseId);
            return;
        }
        var runId = $"retrain-{request.RetrainingId}";
        await context.Publish(new FineTuneRequested(
            runId,
            request.Model,
            baseVersion.Id,
            baseVersion.CheckpointKey,
            baseVersion.TokenizerId,
            request.SftDataKey,
            baseVersion.TrainShards,
            baseVersion.ValidationShards,
            baseVersion.DatasetVersions,
            options.FineTune,
            request.RetrainingId), context.CancellationToken);
        logger.LogInformation("Retraining {RetrainingId} ({Reason}): fine-tuning {BaseVersionId} on {Examples} feedback examples as run {RunId}",
            request.RetrainingId, request.Reason, baseVersion.Id, request.Examples, runId);
    }
}

/// <summary>The configuration section "Orchestrator:Retraining": how feedback fine-tunes run.</summary>
public sealed record RetrainingOptions
{
    public const string Section = "Orchestrator:Retraining";

    public FineTuneSettings FineTune { get; init; } = new();
}
