using Forge.Contracts;
using Forge.Evaluator.Domain;
using MassTransit;

namespace Forge.Evaluator.Consumers;

/// <summary>
/// Remembers a newly registered model version (so eval sets can be generated with it) and stores its measurement on its
/// held-out shards as pending work before acknowledging the message, then queues it: the measurement itself runs in
/// the background, and survives a crash or restart because it is stored.
/// </summary>
public sealed class MeasureRegisteredVersionConsumer(HeldOutEvaluator evaluator, EvaluatorStore store, TimeProvider clock) : IConsumer<ModelVersionRegistered>
{
    public async Task Consume(ConsumeContext<ModelVersionRegistered> context)
    {
        var version = context.Message;
        await store.ModelVersions.UpsertAsync(new KnownModelVersion { Id = version.ModelVersionId, CheckpointKey = version.CheckpointKey, TokenizerId = version.TokenizerId }, context.CancellationToken);
        if (version.ValidationShards.Count == 0)
            return;
        // Measured and announced before: a repeated registration measures nothing again.
        if (await store.Evaluations.GetAsync(HeldOutEvaluator.EvaluationIdOf(version.ModelVersionId), context.CancellationToken) is not null
            && await store.HeldOutMeasurements.GetAsync(version.ModelVersionId, context.CancellationToken) is null)
            return;
        await store.HeldOutMeasurements.TryInsertAsync(new HeldOutMeasurement
        {
            Id = version.ModelVersionId,
            CheckpointKey = version.CheckpointKey,
            TokenizerId = version.TokenizerId,
            ValidationShards = [.. version.ValidationShards],
            RequestedAt = clock.GetUtcNow().UtcDateTime,
        }, context.CancellationToken);
        evaluator.Enqueue(version.ModelVersionId);
    }
}
