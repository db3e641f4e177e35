namespace Forge.Trainer.Domain;

/// <summary>Asks for a run to stop: a queued run nobody holds ends at once; a running one is stopped by its trainer at its next heartbeat.</summary>
public static class RunCancellation
{
    /// <summary>The run as cancelled (or asked to stop); or a conflict (it has ended, or kept changing); both null when there is no such run.</summary>
    public static async Task<(TrainingRun? Run, string? Conflict)> RequestAsync(TrainerStore store, string runId, TimeProvider clock, CancellationToken cancellationToken)
    {
        for (var attempt = 0; attempt < 5; attempt++)
        {
            if (await store.Runs.GetAsync(runId, cancellationToken) is not { } run)
                return (null, null);
            if (run.State is RunState.Completed or RunState.Failed or RunState.Cancelled)
                return (null, $"Run {runId} has already ended ({run.State}).");
            var next = run.State == RunState.Queued
                ? run with { State = RunState.Cancelled, CancelRequested = true, FinishedAt = clock.GetUtcNow().UtcDateTime }
                : run with { CancelRequested = true };
            var state = run.State;
            var replaced = run.Lease is { Epoch: var epoch }
                ? await store.Runs.TryReplaceAsync(next, r => r.State == state && r.Lease != null && r.Lease.Epoch == epoch, cancellationToken)
                : await store.Runs.TryReplaceAsync(next, r => r.State == state && r.Lease == null, cancellationToken);
            if (replaced)
                return (next, null);
        }
        return (null, $"Run {runId} kept changing; try again.");
    }
}
