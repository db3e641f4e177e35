using Forge.Cleaning.Domain;
using Forge.Cleaning.Pipeline;
using Forge.Contracts;
using MassTransit;
using Microsoft.Extensions.Logging;

namespace Forge.Cleaning.Consumers;

/// <summary>
/// Cleans one ingested batch into one shard. Idempotent: the shard key and record id derive from the batch id,
/// dedup never counts a document as a duplicate of itself, and a redelivered message for a batch already cleaned
/// only re-announces the existing shard.
/// </summary>
public sealed class CleanIngestedDocumentsConsumer(CleaningStore store, BatchCleaner cleaner, CleaningSettingsProvider settings, TimeProvider clock, ILogger<CleanIngestedDocumentsConsumer> logger)
    : IConsumer<DocumentsIngested>
{
    public async Task Consume(ConsumeContext<DocumentsIngested> context)
    {
        var message = context.Message;
        var shard = await store.Shards.GetAsync(message.BatchId, context.CancellationToken);
        if (shard is null)
        {
            var shardKey = BatchCleaner.ShardKeyFor(message.DatasetId, message.BatchId);
            var datasetSettings = await settings.ForDatasetAsync(message.DatasetId, context.CancellationToken);
            var result = await cleaner.CleanAsync(message.DatasetId, message.BatchId, message.RawKey, shardKey, datasetSettings, context.CancellationToken);
            var candidate = new CleanShard
            {
                Id = message.BatchId,
                DatasetId = message.DatasetId,
                SourceId = message.SourceId,
                ShardKey = shardKey,
                DocumentsIn = result.DocumentsIn,
                DocumentsOut = result.DocumentsOut,
                BytesIn = result.BytesIn,
                BytesOut = result.BytesOut,
                Dropped = result.Dropped,
                Samples = result.Samples,
                Redactions = result.Redactions,
                CleanedAt = clock.GetUtcNow().UtcDateTime,
            };
            // Two deliveries racing both write the same deterministic shard; only one record wins.
            shard = await store.Shards.TryInsertAsync(candidate, context.CancellationToken)
                ? candidate
                : await store.Shards.GetAsync(message.BatchId, context.CancellationToken) ?? candidate;
            logger.LogInformation("Cleaned batch {BatchId} of dataset {DatasetId}: {DocumentsOut}/{DocumentsIn} documents kept", message.BatchId, message.DatasetId, shard.DocumentsOut, shard.DocumentsIn);
        }
        else
        {
            logger.LogInformation("Batch {BatchId} of dataset {DatasetId} was already cleaned; announcing the existing shard again", message.BatchId, message.DatasetId);
        }
        await context.Publish(new ShardCleaned(shard.DatasetId, shard.Id, shard.SourceId, shard.ShardKey, shard.DocumentsIn, shard.DocumentsOut, shard.BytesIn, shard.BytesOut, shard.CleanedAt));
    }
}

public sealed class CleanIngestedDocumentsConsumerDefinition : ConsumerDefinition<CleanIngestedDocumentsConsumer>
{
    public CleanIngestedDocumentsConsumerDefinition() => ConcurrentMessageLimit = Environment.ProcessorCount;

    protected override void ConfigureConsumer(IReceiveEndpointConfigurator endpointConfigurator, IConsumerConfigurator<CleanIngestedDocumentsConsumer> consumerConfigurator, IRegistrationContext context)
    {
        endpointConfigurator.UseMessageRetry(retry => retry.Exponential(5, TimeSpan.FromMilliseconds(200), TimeSpan.FromSeconds(10), TimeSpan.FromMilliseconds(200)));
        // ShardCleaned leaves only once the shard and its record are stored.
        endpointConfigurator.UseInMemoryOutbox(context);
    }
}
