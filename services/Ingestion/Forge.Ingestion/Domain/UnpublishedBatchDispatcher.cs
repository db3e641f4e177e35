using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Forge.Ingestion.Domain;

/// <summary>
/// The outbox sweep: batches that were stored but whose DocumentsIngested never reached the bus (broker down,
/// process killed between the two) are published again. Cleaning is idempotent, so a repeat is harmless.
/// </summary>
public sealed class UnpublishedBatchDispatcher(IServiceScopeFactory scopes, IngestionStore store, TimeProvider clock, ILogger<UnpublishedBatchDispatcher> logger) : BackgroundService
{
    public static readonly TimeSpan Interval = TimeSpan.FromSeconds(5);
    public static readonly TimeSpan Grace = TimeSpan.FromSeconds(5);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await store.EnsureIndexesAsync(stoppingToken);
        using var timer = new PeriodicTimer(Interval, clock);
        do
        {
            try
            {
                await DispatchAsync(stoppingToken);
            }
            catch (Exception e) when (!stoppingToken.IsCancellationRequested)
            {
                logger.LogWarning(e, "Outbox sweep failed; trying again in {Interval}", Interval);
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }

    public async Task<int> DispatchAsync(CancellationToken cancellationToken)
    {
        var cutoff = clock.GetUtcNow().UtcDateTime - Grace;
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
