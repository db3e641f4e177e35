using Forge.Cleaning.Domain;
using Forge.Contracts;
using MassTransit;
using Microsoft.Extensions.Logging;

namespace Forge.Cleaning.Consumers;

/// <summary>Remembers a deleted source so that versions sealed from now on leave its shards out. Replays change nothing.</summary>
public sealed class ExcludeDeletedSourceConsumer(CleaningStore store, ILogger<ExcludeDeletedSourceConsumer> logger) : IConsumer<SourceDeleted>
{
    public async Task Consume(ConsumeContext<SourceDeleted> context)
    {
        var message = context.Message;
        if (await store.ExcludedSources.TryInsertAsync(new ExcludedSource { Id = message.SourceId, DatasetId = message.DatasetId, DeletedAt = message.DeletedAt }, context.CancellationToken))
            logger.LogInformation("Source {SourceId} of dataset {DatasetId} is excluded from new versions", message.SourceId, message.DatasetId);
    }
}
