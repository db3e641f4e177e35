using Forge.Contracts;
using Forge.Ingestion.Domain;
using MassTransit;
using Microsoft.Extensions.Logging;

namespace Forge.Ingestion.Consumers;

/// <summary>Marks a batch cleaned, with its counts. Replaying the event writes the same state again.</summary>
public sealed class RecordCleanedShardConsumer(IngestionStore store, ILogger<RecordCleanedShardConsumer> logger) : IConsumer<ShardCleaned>
{
    public async Task Consume(ConsumeContext<ShardCleaned> context)
    {
        var message = context.Message;
        var batch = await store.Batches.GetAsync(message.BatchId, context.CancellationToken);
        if (batch is null)
        {
            logger.LogWarning("ShardCleaned for unknown batch {BatchId} of dataset {DatasetId}; ignored", message.BatchId, message.DatasetId);
            return;
        }
        await store.Batches.UpsertAsync(batch with
        {
            Status = BatchStatus.Cleaned,
            Cleaned = new CleanedShard
            {
                ShardKey = message.ShardKey,
                DocumentsOut = message.DocumentsOut,
                BytesOut = message.BytesOut,
                CleanedAt = message.CleanedAt,
            },
        }, context.CancellationToken);
        logger.LogInformation("Batch {BatchId} of dataset {DatasetId} cleaned: {DocumentsOut}/{DocumentsIn} documents kept", message.BatchId, message.DatasetId, message.DocumentsOut, message.DocumentsIn);
    }
}

public sealed class RecordCleanedShardConsumerDefinition : ConsumerDefinition<RecordCleanedShardConsumer>
{
    protected override void ConfigureConsumer(IReceiveEndpointConfigurator endpointConfigurator, IConsumerConfigurator<RecordCleanedShardConsumer> consumerConfigurator, IRegistrationContext context)
    {
        endpointConfigurator.UseMessageRetry(retry => retry.Exponential(5, TimeSpan.FromMilliseconds(200), TimeSpan.FromSeconds(10), TimeSpan.FromMilliseconds(200)));
    }
}
