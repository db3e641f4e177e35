using Forge.Contracts;
using Forge.Orchestrator.Domain;
using MassTransit;
using Microsoft.Extensions.Logging;

namespace Forge.Orchestrator.Consumers;

/// <summary>
/// Attaches an evaluation's metrics to its model version and, when the version asked for it, tries a gated promotion.
/// A redelivered evaluation finds its metrics already recorded and does nothing.
/// </summary>
public sealed class RecordEvaluationConsumer(ModelRegistry registry, ILogger<RecordEvaluationConsumer> logger) : IConsumer<EvaluationCompleted>
{
    public async Task Consume(ConsumeContext<EvaluationCompleted> context)
    {
        var message = context.Message;
        if (message.Metrics.Keys.FirstOrDefault(name => !PromotionPolicy.MetricNamePattern().IsMatch(name)) is { } badName)
        {
            logger.LogWarning("EvaluationCompleted {EvaluationId} for {ModelVersionId} names a metric {Metric} the registry cannot store; ignored", message.EvaluationId, message.ModelVersionId, badName);
            return;
        }
        var version = await registry.RecordMetricsAsync(message.ModelVersionId, message.EvalSet, message.Metrics, message.EvaluationId, context.CancellationToken);
        if (version is null)
            logger.LogWarning("EvaluationCompleted {EvaluationId} for unknown model version {ModelVersionId}; ignored", message.EvaluationId, message.ModelVersionId);
    }
}

public sealed class RecordEvaluationConsumerDefinition : ConsumerDefinition<RecordEvaluationConsumer>
{
    protected override void ConfigureConsumer(IReceiveEndpointConfigurator endpointConfigurator, IConsumerConfigurator<RecordEvaluationConsumer> consumerConfigurator, IRegistrationContext context)
    {
        endpointConfigurator.UseMessageRetry(retry => retry.Exponential(5, TimeSpan.FromMilliseconds(200), TimeSpan.FromSeconds(10), TimeSpan.FromMilliseconds(200)));
    }
}
