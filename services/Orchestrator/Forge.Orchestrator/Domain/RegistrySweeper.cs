using Microsoft.Extensions.DependencyInjection;
using Forge.ServiceDefaults;
using Microsoft.Extensions.Logging;

namespace Forge.Orchestrator.Domain;

/// <summary>
/// The registry's outbox sweep: registrations, auto-promotion attempts, promotions and rollbacks whose writes were
/// made but whose follow-up (the event, the attempt) was cut short by a crash or a broker outage, and that no
/// redelivered message came to finish, are finished after <see cref="Grace"/>. Manual promotions and rollbacks
/// through the API have no message to be redelivered, so this sweep is what announces them after a crash.
/// </summary>
public sealed class RegistrySweeper(IServiceScopeFactory scopes, TimeProvider clock, ILogger<RegistrySweeper> logger) : PeriodicSweep(clock, logger)
{
    public static readonly TimeSpan Grace = TimeSpan.FromSeconds(10);

    protected override TimeSpan Interval => TimeSpan.FromSeconds(5);
    protected override string Name => "registry sweep";

    protected override async Task SweepAsync(CancellationToken cancellationToken)
    {
        using var scope = scopes.CreateScope();
        var registry = scope.ServiceProvider.GetRequiredService<ModelRegistry>();
        var finished = await registry.FinishPendingAsync(Clock.GetUtcNow().UtcDateTime - Grace, cancellationToken);
        if (finished > 0)
            logger.LogInformation("Registry sweep finished {Count} pending registrations, promotions or rollbacks", finished);
    }
}
