using Forge.Contracts;
using Forge.Evaluator.Domain;
using MassTransit;

namespace Forge.Evaluator.Consumers;

/// <summary>Queues a newly registered model version for measurement on its held-out shards; the message is acknowledged at once.</summary>
public sealed class MeasureRegisteredVersionConsumer(HeldOutEvaluator evaluator) : IConsumer<ModelVersionRegistered>
{
    public Task Consume(ConsumeContext<ModelVersionRegistered> context)
    {
        evaluator.Enqueue(context.Message);
        return Task.CompletedTask;
    }
}
