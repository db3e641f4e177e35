using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Forge.Orchestrator.Domain;

/// <summary>
/// Carries sweeps on after a restart and over lost messages, on the builds' schedule (<see cref="BuildResumer"/>'s
/// intervals): at start every running sweep, later any sweep that has not moved for a while.
/// </summary>
public sealed class SweepResumer(SweepStore store, IServiceScopeFactory scopes, ILogger<SweepResumer> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await store.EnsureIndexesAsync(stoppingToken);
        var idle = TimeSpan.Zero; // at start: every running sweep
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                using var scope = scopes.CreateScope();
                var resumed = await scope.ServiceProvider.GetRequiredService<SweepManager>().ResumeAsync(idle, stoppingToken);
                if (resumed > 0)
                    logger.LogInformation("Resumed {Sweeps} sweeps", resumed);
            }
            catch (Exception e) when (!stoppingToken.IsCancellationRequested)
            {
                logger.LogWarning(e, "Resuming sweeps failed; trying again");
            }
            idle = BuildResumer.IdleBeforeResend;
            try
            {
                await Task.Delay(BuildResumer.Interval, stoppingToken);
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }
    }
}
