using Forge.Cleaning.Domain;
using Forge.Contracts;
using MassTransit;
using Microsoft.Extensions.Logging;

namespace Forge.Cleaning.Consumers;

/// <summary>
/// Records a batch whose cleaning failed after every retry (its message is in the cleaning queue's _error queue), so
/// that the API can say which batches failed and why. Idempotent: the batch id is the record's id.
/// </summary>
public sealed class RecordCleaningFailureConsumer(CleaningStore store, TimeProvider clock, ILogger<RecordCleaningFailureConsumer> logger)
    : IConsumer<Fault<DocumentsIngested>>
{
    public async Task Consume(ConsumeContext<Fault<DocumentsIngested>> context)
    {
        var batch = context.Message.Message;
        var reason = context.Message.Exceptions is [var first, ..] ? $"{first.ExceptionType}: {first.Message}" : "unknown";
        await store.Failures.UpsertAsync(new CleaningFailure
        {
            Id = batch.BatchId,
            DatasetId = batch.DatasetId,
            RawKey = batch.RawKey,
            Reason = reason,
            FailedAt = clock.GetUtcNow().UtcDateTime,
        }, context.CancellationToken);
        logger.LogWarning("Cleaning batch {BatchId} of dataset {DatasetId} failed for good: {Reason}", batch.BatchId, batch.DatasetId, reason);
    }
}
