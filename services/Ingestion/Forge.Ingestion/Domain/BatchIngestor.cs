using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Forge.Contracts;
using Forge.Storage.Artifacts;
using MassTransit;
using Microsoft.Extensions.Logging;

namespace Forge.Ingestion.Domain;

public sealed record IngestOutcome(Batch Batch, bool Created);

/// <summary>
/// Accepts a validated batch: the raw artifact is written first, then the batch record is inserted (the commit
/// point), then DocumentsIngested is published. A failed publish is retried by <see cref="UnpublishedBatchDispatcher"/>,
/// so an accepted batch always reaches cleaning.
/// </summary>
public sealed class BatchIngestor(IngestionStore store, IArtifactStore artifacts, IPublishEndpoint publisher, TimeProvider clock, ILogger<BatchIngestor> logger)
{
    public async Task<IngestOutcome> IngestAsync(string datasetId, string? idempotencyKey, IReadOnlyList<RawDocument> documents, CancellationToken cancellationToken)
    {
        var batchId = idempotencyKey is null ? Guid.CreateVersion7().ToString("N") : BatchIdFor(datasetId, idempotencyKey);
        if (idempotencyKey is not null && await store.Batches.GetAsync(batchId, cancellationToken) is { } existing)
            return new IngestOutcome(existing, Created: false);

        // The attempt suffix keeps two concurrent retries of one batch from overwriting each other's raw file.
        var rawKey = $"datasets/{datasetId}/raw/{batchId}-{RandomNumberGenerator.GetHexString(8, lowercase: true)}.jsonl";
        var raw = ToJsonLines(documents);
        await artifacts.PutBytesAsync(rawKey, raw, cancellationToken);

        var batch = new Batch
        {
            Id = batchId,
            DatasetId = datasetId,
            IdempotencyKey = idempotencyKey,
            RawKey = rawKey,
            Documents = documents.Count,
            Bytes = raw.Length,
            Status = BatchStatus.Received,
            ReceivedAt = clock.GetUtcNow().UtcDateTime,
        };
        if (!await store.Batches.TryInsertAsync(batch, CancellationToken.None))
        {
            await artifacts.DeleteAsync(rawKey, CancellationToken.None);
            var winner = await store.Batches.GetAsync(batchId, CancellationToken.None)
                ?? throw new InvalidOperationException($"Batch {batchId} was reported as a duplicate but cannot be read.");
            return new IngestOutcome(winner, Created: false);
        }
        logger.LogInformation("Stored batch {BatchId} of dataset {DatasetId}: {Documents} documents, {Bytes} bytes", batchId, datasetId, batch.Documents, batch.Bytes);
        return new IngestOutcome(await TryPublishAsync(batch, CancellationToken.None) ?? batch, Created: true);
    }

    /// <summary>Publishes DocumentsIngested and marks the batch published; returns null when the bus refused it (it is retried later).</summary>
    public async Task<Batch?> TryPublishAsync(Batch batch, CancellationToken cancellationToken)
    {
        try
        {
            await publisher.Publish(new DocumentsIngested(batch.DatasetId, batch.Id, batch.RawKey, batch.Documents, batch.Bytes, batch.ReceivedAt), cancellationToken);
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

    public static string BatchIdFor(string datasetId, string idempotencyKey) =>
        "k" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes($"{datasetId}\n{idempotencyKey}")))[..31];

    private static byte[] ToJsonLines(IReadOnlyList<RawDocument> documents)
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = false, SkipValidation = true }))
        {
            foreach (var document in documents)
            {
                writer.WriteStartObject();
                writer.WriteString("text", document.Text);
                if (document.Id is not null)
                    writer.WriteString("id", document.Id);
                writer.WriteEndObject();
                writer.Flush();
                buffer.WriteByte((byte)'\n');
                writer.Reset();
            }
        }
        return buffer.ToArray();
    }
}
