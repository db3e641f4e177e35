using System.Security.Cryptography;
using System.Text;
using Forge.Contracts;
using Forge.ServiceDefaults;
using Microsoft.AspNetCore.Http;
using Forge.Storage.Artifacts;
using MassTransit;
using Microsoft.Extensions.Logging;

namespace Forge.Ingestion.Domain;

public sealed record IngestOutcome(Batch Batch, bool Created);

/// <summary>A batch ready to commit: its documents as JSON lines, and where they came from.</summary>
public sealed record PendingBatch(string DatasetId, Source Source, string BatchId, string? IdempotencyKey, byte[] JsonLines, int Documents);

/// <summary>
/// Commits batches: the raw artifact is written first, then the batch record is inserted (the commit point), then
/// DocumentsIngested is published. A failed publish is retried by <see cref="UnpublishedBatchDispatcher"/>, so an
/// accepted batch always reaches cleaning; a failure before the record leaves no batch behind.
/// </summary>
public sealed class BatchIngestor(IngestionStore store, IArtifactStore artifacts, IPublishEndpoint publisher, TimeProvider clock, ILogger<BatchIngestor> logger)
{
    /// <summary>A fresh batch id, or a deterministic one for a client-supplied key (and the batch's position in a stream).</summary>
    public static string BatchIdFor(string datasetId, string? idempotencyKey, int sequence = 0)
    {
        if (idempotencyKey is null)
            return Guid.CreateVersion7().ToString("N");
        var material = sequence == 0 ? $"{datasetId}\n{idempotencyKey}" : $"{datasetId}\n{idempotencyKey}\n{sequence}";
        return "k" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(material)))[..31];
    }

    /// <summary>Records the source on first use; a deleted source cannot take new documents.</summary>
    public async Task<Source> EnsureSourceAsync(string datasetId, string name, string kind, string? uri, CancellationToken cancellationToken)
    {
        var id = SourceIds.For(datasetId, name);
        var source = new Source { Id = id, DatasetId = datasetId, Name = name, Kind = kind, Uri = uri, CreatedAt = clock.GetUtcNow().UtcDateTime };
        if (await store.Sources.TryInsertAsync(source, cancellationToken))
            return source;
        var existing = await store.Sources.GetAsync(id, cancellationToken) ?? source;
        if (existing.DeletedAt is not null)
            throw new SourceDeletedException(existing);
        return existing;
    }

    public async Task<IngestOutcome> CommitAsync(PendingBatch pending, CancellationToken cancellationToken)
    {
        if (pending.IdempotencyKey is not null && await store.Batches.GetAsync(pending.BatchId, cancellationToken) is { } existing)
            return new IngestOutcome(existing, Created: false);

        // The attempt suffix keeps two concurrent retries of one batch from overwriting each other's raw file.
        var rawKey = $"datasets/{pending.DatasetId}/raw/{pending.BatchId}-{RandomNumberGenerator.GetHexString(8, lowercase: true)}.jsonl";
        await artifacts.PutBytesAsync(rawKey, pending.JsonLines, cancellationToken);

        var batch = new Batch
        {
            Id = pending.BatchId,
            DatasetId = pending.DatasetId,
            SourceId = pending.Source.Id,
            IdempotencyKey = pending.IdempotencyKey,
            RawKey = rawKey,
            Documents = pending.Documents,
            Bytes = pending.JsonLines.Length,
            Status = BatchStatus.Received,
            ReceivedAt = clock.GetUtcNow().UtcDateTime,
        };
        if (!await store.Batches.TryInsertAsync(batch, CancellationToken.None))
        {
            await artifacts.DeleteAsync(rawKey, CancellationToken.None);
            var winner = await store.Batches.GetAsync(batch.Id, CancellationToken.None)
                ?? throw new InvalidOperationException($"Batch {batch.Id} was reported as a duplicate but cannot be read.");
            return new IngestOutcome(winner, Created: false);
        }
        logger.LogInformation("Stored batch {BatchId} of dataset {DatasetId} from source {SourceId}: {Documents} documents, {Bytes} bytes",
            batch.Id, batch.DatasetId, batch.SourceId, batch.Documents, batch.Bytes);
        return new IngestOutcome(await TryPublishAsync(batch, CancellationToken.None) ?? batch, Created: true);
    }

    /// <summary>Publishes DocumentsIngested and marks the batch published; returns null when the bus refused it (it is retried later).</summary>
    public async Task<Batch?> TryPublishAsync(Batch batch, CancellationToken cancellationToken)
    {
        try
        {
            await publisher.Publish(new DocumentsIngested(batch.DatasetId, batch.Id, batch.SourceId, batch.RawKey, batch.Documents, batch.Bytes, batch.ReceivedAt), cancellationToken);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            logger.LogWarning(e, "Could not publish DocumentsIngested for batch {BatchId}; it will be retried", batch.Id);
            return null;
        }
        var published = batch with { Status = BatchStatus.Published, PublishedAt = clock.GetUtcNow().UtcDateTime };
        // Cleaning may already have reported back; never move a batch backwards from Cleaned.
        return await store.Batches.TryReplaceAsync(published, b => b.Status == BatchStatus.Received, cancellationToken) ? published : batch;
    }
}

public sealed class SourceDeletedException(Source source)
    : ProblemException(StatusCodes.Status409Conflict, "Source deleted", $"Source '{source.Name}' of dataset '{source.DatasetId}' was deleted; use another source name.")
{
    public Source DeletedSource { get; } = source;
}

public static class SourceIds
{
    /// <summary>A source id is the dataset and the source's name, so naming the same source again reuses it.</summary>
    public static string For(string datasetId, string name) => $"{datasetId}:{name}";
}
