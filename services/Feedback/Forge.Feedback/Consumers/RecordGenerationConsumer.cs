using Forge.Contracts;
using Forge.Feedback.Domain;
using MassTransit;
using Microsoft.Extensions.Logging;

namespace Forge.Feedback.Consumers;

/// <summary>
/// Keeps this service's copy of every generation, so feedback can point at it, and notes the model's served version.
/// The generation id is the document id: a redelivered event finds its generation stored and changes nothing.
/// </summary>
public sealed class RecordGenerationConsumer(FeedbackStore store, RetrainingTrigger trigger, ILogger<RecordGenerationConsumer> logger) : IConsumer<GenerationCompleted>
{
    public async Task Consume(ConsumeContext<GenerationCompleted> context)
    {
        var message = context.Message;
        if (string.IsNullOrEmpty(message.GenerationId) || string.IsNullOrEmpty(message.Model) || string.IsNullOrEmpty(message.ModelVersionId))
        {
            logger.LogWarning("GenerationCompleted without a generation id, model or model version ({GenerationId}, {Model}, {ModelVersionId}); ignored",
                message.GenerationId, message.Model, message.ModelVersionId);
            return;
        }
        var generation = StoredGeneration.Of(message);
        if (await store.Generations.TryInsertAsync(generation, context.CancellationToken))
            logger.LogDebug("Stored generation {GenerationId} of {ModelVersionId}", generation.Id, generation.ModelVersionId);
        await trigger.NoteGenerationAsync(generation, context.CancellationToken);
    }
}

public sealed class RecordGenerationConsumerDefinition : ConsumerDefinition<RecordGenerationConsumer>
{
    protected override void ConfigureConsumer(IReceiveEndpointConfigurator endpointConfigurator, IConsumerConfigurator<RecordGenerationConsumer> consumerConfigurator, IRegistrationContext context)
    {
        endpointConfigurator.UseMessageRetry(retry => retry.Exponential(5, TimeSpan.FromMilliseconds(200), TimeSpan.FromSeconds(10), TimeSpan.FromMilliseconds(200)));
    }
}
