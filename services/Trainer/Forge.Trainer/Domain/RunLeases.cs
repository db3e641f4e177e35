namespace Forge.Trainer.Domain;

/// <summary>
/// Leases in the metadata store, by compare-and-swap: a trainer claims a queued run or one whose lease expired,
/// renews it while it trains, and every write it makes is conditional on still holding it (owner and epoch), so a
/// trainer that stalled past its lease cannot overwrite the run its successor now holds.
/// </summary>
public sealed class RunLeases(TrainerStore store, TrainerOptions options, TimeProvider clock)
{
    public async Task<TrainingRun?> TryClaimAsync(TrainingRun run, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow().UtcDateTime;
        var epoch = (run.Lease?.Epoch ?? 0) + 1;
        var claimed = run with
        {
            State = RunState.Running,
            Lease = new RunLease(options.Replica, now + options.LeaseDuration, epoch),
            Segments = [.. run.Segments, new RunSegment(options.Replica, epoch, run.Step, run.Step, now, now)],
        };
        bool won;
        if (run.Lease is null)
        {
            won = await store.Runs.TryReplaceAsync(claimed, r => r.State == RunState.Queued && r.Lease == null, cancellationToken);
        }
        else
        {
            var previous = run.Lease.Epoch;
            won = await store.Runs.TryReplaceAsync(claimed, r => r.State == RunState.Running && r.Lease != null && r.Lease.Epoch == previous && r.Lease.ExpiresAt < now, cancellationToken);
        }
        return won ? claimed : null;
    }

    /// <summary>Writes <paramref name="update"/> of the current record if this trainer still holds the lease, extending it; null when the lease is lost.</summary>
    public async Task<TrainingRun?> UpdateAsync(string runId, int epoch, Func<TrainingRun, TrainingRun> update, CancellationToken cancellationToken)
    {
        var owner = options.Replica;
        // The holder's writes are fenced by owner and epoch. A cancel request is written by others (the API, a build, a
        // sweep) without the lease, so each write also checks that the flag is still what was read: otherwise the
        // holder's write would erase the request, and it reads the run again and retries.
        for (var attempt = 0; attempt < 20; attempt++)
        {
            var current = await store.Runs.GetAsync(runId, cancellationToken);
            if (current?.Lease is null || current.Lease.Owner != owner || current.Lease.Epoch != epoch)
                return null;
            var next = update(current);
            if (next.Lease is not null && next.State == RunState.Running)
                next = next with { Lease = next.Lease with { ExpiresAt = clock.GetUtcNow().UtcDateTime + options.LeaseDuration } };
            var cancelRequested = current.CancelRequested;
            if (await store.Runs.TryReplaceAsync(next, r => r.Lease != null && r.Lease.Owner == owner && r.Lease.Epoch == epoch && r.CancelRequested == cancelRequested, cancellationToken))
                return next;
        }
        return null;
    }

    /// <summary>Runs that a replica with room could take: queued ones first, then those whose trainer stopped renewing.</summary>
    public async Task<IReadOnlyList<TrainingRun>> ClaimableAsync(CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow().UtcDateTime;
        var queued = await store.Runs.FindAsync(r => r.State == RunState.Queued, new() { SortBy = r => r.CreatedAt }, cancellationToken);
        var orphaned = await store.Runs.FindAsync(r => r.State == RunState.Running && r.Lease != null && r.Lease.ExpiresAt < now, new() { SortBy = r => r.CreatedAt }, cancellationToken);
        return [.. queued, .. orphaned];
    }
}
