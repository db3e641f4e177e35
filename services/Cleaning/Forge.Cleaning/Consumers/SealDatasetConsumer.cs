using Forge.Cleaning.Domain;
using Forge.Contracts;
using MassTransit;
using Microsoft.Extensions.Logging;

namespace Forge.Cleaning.Consumers;

/// <summary>A build's batches are not all cleaned yet: the seal command is tried again shortly.</summary>
public sealed class BatchesNotCleanedException(string datasetId, IReadOnlyCollection<string> batchIds)
    : Exception($"{batchIds.Count} batches of dataset '{datasetId}' are not cleaned yet: {string.Join(", ", batchIds.Take(5))}{(batchIds.Count > 5 ? ", ..." : "")}");

/// <summary>
/// Seals a build's dataset version once the build's batches are cleaned, as POST /api/cleaning/datasets/{id}/versions
/// does. Until they are, the command is retried (<see cref="SealWaitOptions"/>); after that the build fails at
/// cleaning. Idempotent: the version records its build, and a repeated command announces that version again.
/// </summary>
public sealed class SealDatasetConsumer(CleaningStore store, VersionSealer sealer, SealWaitOptions wait, ILogger<SealDatasetConsumer> logger) : IConsumer<SealDatasetRequested>
{
    public async Task Consume(ConsumeContext<SealDatasetRequested> context)
    {
        var message = context.Message;
        if (VersionSealer.ValidationFractionProblem(message.ValidationFraction) is { } invalid)
        {
            await FailAsync(context, "seal", $"validationFraction: {invalid}");
            return;
        }
        var cleaned = (await store.Shards.GetManyAsync(message.BatchIds, context.CancellationToken))
            .Where(s => s.DatasetId == message.DatasetId).Select(s => s.Id).ToHashSet(StringComparer.Ordinal);
        var waiting = message.BatchIds.Where(id => !cleaned.Contains(id)).ToList();
        if (waiting.Count > 0)
        {
            var notYet = new BatchesNotCleanedException(message.DatasetId, waiting);
            if (context.GetRetryAttempt() < wait.Retries)
                throw notYet;
            await FailAsync(context, "clean", $"{notYet.Message} (waited {wait.SealWait})");
            return;
        }
        if (await sealer.SealAsync(message.DatasetId, message.ValidationFraction, message.BuildId, context.CancellationToken) is null)
            await FailAsync(context, "seal", $"Dataset '{message.DatasetId}' has no clean shard to seal.");
    }

    private async Task FailAsync(ConsumeContext<SealDatasetRequested> context, string stage, string reason)
    {
        logger.LogWarning("Build {BuildId}: cannot seal dataset {DatasetId}: {Reason}", context.Message.BuildId, context.Message.DatasetId, reason);
        await context.Publish(new BuildStageFailed(context.Message.BuildId, stage, reason));
    }
}

/// <summary>Retries at a steady interval for as long as the seal may wait for cleaning; the consumer gives up on the last try.</summary>
public sealed class SealDatasetConsumerDefinition(SealWaitOptions wait) : ConsumerDefinition<SealDatasetConsumer>
{
    protected override void ConfigureConsumer(IReceiveEndpointConfigurator endpointConfigurator, IConsumerConfigurator<SealDatasetConsumer> consumerConfigurator, IRegistrationContext context)
    {
        endpointConfigurator.UseMessageRetry(retry => retry.Interval(wait.Retries, wait.SealRetryInterval));
    }
}
