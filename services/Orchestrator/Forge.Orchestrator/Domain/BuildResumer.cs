using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Forge.Orchestrator.Domain;

/// <summary>
/// Carries builds on after a restart and over lost messages: at start every running build's current command is sent
/// again, and later any build that has not moved for a while gets its command again. The commands' handlers are
/// idempotent, so a stage that had in fact finished only answers again.
/// </summary>
public sealed class BuildResumer(BuildStore store, IServiceScopeFactory scopes, ILogger<BuildResumer> logger) : BackgroundService
{
    public static TimeSpan IdleBeforeResend { get; set; } = TimeSpan.FromSeconds(60);
    public static TimeSpan Interval { get; set; } = TimeSpan.FromSeconds(15);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await store.EnsureIndexesAsync(stoppingToken);
        var idle = TimeSpan.Zero; // at start: every running build
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                using var scope = scopes.CreateScope();
                var resumed = await scope.ServiceProvider.GetRequiredService<BuildManager>().ResumeAsync(idle, stoppingToken);
                if (resumed > 0)
                    logger.LogInformation("Resumed {Builds} builds", resumed);
            }
            catch (Exception e) when (!stoppingToken.IsCancellationRequested)
            {
                logger.LogWarning(e, "Resuming builds failed; trying again");
            }
            idle = IdleBeforeResend;
            try
            {
                await Task.Delay(Interval, stoppingToken);
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }
    }
}
