using Forge.Contracts;
using Forge.Evaluator.Domain;
using MassTransit;

namespace Forge.Evaluator.Consumers;

/// <summary>
/// Remembers a newly registered model version (so eval sets can be generated with it) and queues it for measurement
/// on its held-out shards; the message is acknowledged without waiting for the measurement.
/// </summary>
public sealed class MeasureRegisteredVersionConsumer(HeldOutEvaluator evaluator, EvaluatorStore store) : IConsumer<ModelVersionRegistered>
{
    public async Task Consume(ConsumeContext<ModelVersionRegistered> context)
    {
        var version = context.Message;
        await store.ModelVersions.UpsertAsync(new KnownModelVersion { Id = version.ModelVersionId, CheckpointKey = version.CheckpointKey, TokenizerId = version.TokenizerId }, context.CancellationToken);
        evaluator.Enqueue(version);
    }
}
