using Microsoft.Extensions.DependencyInjection;
using Forge.ServiceDefaults;
using Microsoft.Extensions.Logging;

namespace Forge.Feedback.Domain;

/// <summary>
/// The outbox sweep for retraining: a decision still pending after <see cref="Grace"/> (the process stopped between
/// deciding and publishing, or the artifact store or bus failed) is carried out again. Each step is done only if it
/// is not done yet, so the sweep and a slow first attempt do not publish twice.
/// </summary>
public sealed class PendingRetrainingDispatcher(IServiceScopeFactory scopes, FeedbackStore store, TimeProvider clock, ILogger<PendingRetrainingDispatcher> logger)
    : PeriodicSweep(clock, logger)
{
    public static readonly TimeSpan Grace = TimeSpan.FromSeconds(10);

    protected override TimeSpan Interval => TimeSpan.FromSeconds(5);
    protected override string Name => "retraining sweep";

    protected override Task SweepAsync(CancellationToken cancellationToken) => DispatchAsync(cancellationToken);

    /// <summary>Finishes the pending decisions older than the grace period; returns how many it finished.</summary>
    public async Task<int> DispatchAsync(CancellationToken cancellationToken)
    {
        var cutoff = Clock.GetUtcNow().UtcDateTime - Grace;
        // One document per model, so reading them all is cheap; a filter on the pending list would not be portable.
        var models = await store.Models.FindAsync(_ => true, cancellationToken: cancellationToken);
        var finished = 0;
        foreach (var model in models)
        {
            foreach (var decision in model.Pending.Where(d => d.DecidedAt < cutoff))
            {
                using var scope = scopes.CreateScope();
                var trigger = scope.ServiceProvider.GetRequiredService<RetrainingTrigger>();
                if (await trigger.CompleteAsync(model.Id, decision, cancellationToken) is not null)
                    finished++;
            }
        }
        if (finished > 0)
            logger.LogInformation("Retraining sweep finished {Count} pending retraining requests", finished);
        return finished;
    }
}
