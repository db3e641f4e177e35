using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Forge.ServiceDefaults;

/// <summary>
/// A background service that runs <see cref="SweepAsync"/> every <see cref="Interval"/> (once at start too, where
/// <see cref="SweepAtStart"/>): the outbox sweeps that finish work a crash or an outage cut short. A failed sweep is
/// logged and tried again at the next tick; it never stops the service.
/// </summary>
public abstract class PeriodicSweep(TimeProvider clock, ILogger logger) : BackgroundService
{
    /// <summary>The clock the sweeps run by; grace periods are measured on it too.</summary>
    protected TimeProvider Clock => clock;

    /// <summary>Time between two sweeps.</summary>
    protected abstract TimeSpan Interval { get; }

    /// <summary>Sweep as soon as the service starts (for work a stopped process left), not only after the first interval.</summary>
    protected virtual bool SweepAtStart => false;

    /// <summary>What the sweep is, for its log lines ("outbox sweep", say).</summary>
    protected abstract string Name { get; }

    /// <summary>One sweep.</summary>
    protected abstract Task SweepAsync(CancellationToken cancellationToken);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(Interval, clock);
        if (SweepAtStart)
            await SweepSafelyAsync(stoppingToken);
        while (await timer.WaitForNextTickAsync(stoppingToken))
            await SweepSafelyAsync(stoppingToken);
    }

    private async Task SweepSafelyAsync(CancellationToken stoppingToken)
    {
        try
        {
            await SweepAsync(stoppingToken);
        }
        catch (Exception e) when (!stoppingToken.IsCancellationRequested)
        {
            logger.LogWarning(e, "The {Sweep} failed; trying again in {Interval}", Name, Interval);
        }
    }
}
