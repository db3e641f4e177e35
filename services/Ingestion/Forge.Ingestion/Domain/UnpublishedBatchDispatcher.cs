using Microsoft.Extensions.DependencyInjection;
using Forge.ServiceDefaults;
using Microsoft.Extensions.Logging;

namespace Forge.Ingestion.Domain;

/// <summary>
/// The outbox sweep: batches that were stored but whose DocumentsIngested never reached the bus (broker down,
/// process killed between the two) are published again. Cleaning is idempotent, so a repeat is harmless.
/// </summary>
public sealed class UnpublishedBatchDispatcher(IServiceScopeFactory scopes, IngestionStore store, TimeProvider clock, ILogger<UnpublishedBatchDispatcher> logger)
    : PeriodicSweep(clock, logger)
{
    public static readonly TimeSpan Grace = TimeSpan.FromSeconds(5);

    protected override TimeSpan Interval => TimeSpan.FromSeconds(5);
    protected override bool SweepAtStart => true;
    protected override string Name => "outbox sweep";

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await store.EnsureIndexesAsync(stoppingToken);
        await base.ExecuteAsync(stoppingToken);
    }

    protected override Task SweepAsync(CancellationToken cancellationToken) => DispatchAsync(cancellationToken);

    public async Task<int> DispatchAsync(CancellationToken cancellationToken)
    {
        var cutoff = Clock.GetUtcNow().UtcDateTime - Grace;
        var pending = await store.Batches.FindAsync(b => b.Status == BatchStatus.Received && b.ReceivedAt < cutoff, cancellationToken: cancellationToken);
        var published = 0;
        foreach (var batch in pending)
        {
            using var scope = scopes.CreateScope();
            var ingestor = scope.ServiceProvider.GetRequiredService<BatchIngestor>();
            if (await ingestor.TryPublishAsync(batch, cancellationToken) is not null)
                published++;
        }
        if (published > 0)
            logger.LogInformation("Outbox sweep published {Count} pending batches", published);
        return published;
    }
}
