using Forge.Contracts;
using Forge.Ingestion.Domain;
using MassTransit;
using Microsoft.Extensions.Logging;

namespace Forge.Ingestion.Consumers;

/// <summary>
/// Ingests the files a build names, from this service's file system. Idempotent: batch ids derive from (build, file
/// path, chunk number), so a repeated command stores nothing new and announces the same FilesIngested again. What
/// asking again cannot fix (a missing path, no document at all) is answered with BuildStageFailed.
/// </summary>
public sealed class IngestFilesConsumer(LocalFileIngestor files, ILogger<IngestFilesConsumer> logger) : IConsumer<IngestFilesRequested>
{
    private const string Stage = "ingest";

    public async Task Consume(ConsumeContext<IngestFilesRequested> context)
    {
        var message = context.Message;
        LocalFilesReceipt receipt;
        try
        {
            receipt = await files.IngestAsync(message.DatasetId, message.Paths, message.Separator, $"build {message.BuildId}", context.CancellationToken);
        }
        catch (FilesRefusedException e)
        {
            logger.LogWarning("Build {BuildId}: cannot ingest into dataset {DatasetId}: {Reason}", message.BuildId, message.DatasetId, e.Message);
            await context.Publish(new BuildStageFailed(message.BuildId, Stage, e.Message));
            return;
        }
        logger.LogInformation("Build {BuildId}: dataset {DatasetId} holds {Documents} documents in {Batches} batches from its files; {Skipped} files skipped",
            message.BuildId, message.DatasetId, receipt.Documents, receipt.Batches.Count, receipt.Skipped.Count);
        await context.Publish(new FilesIngested(message.BuildId, message.DatasetId, [.. receipt.Batches.Select(b => b.Id)], receipt.Documents, receipt.Bytes,
            [.. receipt.Skipped.Select(s => s.Path)]));
    }
}

public sealed class IngestFilesConsumerDefinition : ConsumerDefinition<IngestFilesConsumer>
{
    protected override void ConfigureConsumer(IReceiveEndpointConfigurator endpointConfigurator, IConsumerConfigurator<IngestFilesConsumer> consumerConfigurator, IRegistrationContext context)
    {
        // No in-memory outbox: each batch's DocumentsIngested must leave when the batch is stored, as the API's do,
        // because a retry finds the batch stored and does not announce it again.
        endpointConfigurator.UseMessageRetry(retry => retry.Exponential(5, TimeSpan.FromMilliseconds(200), TimeSpan.FromSeconds(10), TimeSpan.FromMilliseconds(200)));
    }
}
