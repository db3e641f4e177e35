using Forge.Cleaning.Domain;

namespace Forge.Cleaning.Pipeline;

/// <summary>
/// A held <see cref="DedupLease"/>: taken by compare-and-swap (free, expired, or never taken), renewed every third of
/// its time to live while held, and given up on dispose. Waiting replicas poll until it is free or expired.
/// </summary>
public sealed class DedupLeaseHolder : IAsyncDisposable
{
    public static readonly TimeSpan TimeToLive = TimeSpan.FromSeconds(30);
    /// <summary>How long a replica waits for the lease before its attempt fails (and the message is retried): longer than a dead holder's lease lasts.</summary>
    public static readonly TimeSpan MaxWait = TimeSpan.FromMinutes(2);

    private readonly CleaningStore _store;
    private readonly TimeProvider _clock;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _heartbeat;
    private DedupLease _lease;

    private DedupLeaseHolder(CleaningStore store, TimeProvider clock, DedupLease lease)
    {
        _store = store;
        _clock = clock;
        _lease = lease;
        _heartbeat = RenewAsync(_stop.Token);
    }

    public static async Task<DedupLeaseHolder> AcquireAsync(CleaningStore store, string datasetId, string holder, TimeProvider clock, CancellationToken cancellationToken)
    {
        var deadline = clock.GetUtcNow() + MaxWait;
        var pause = TimeSpan.FromMilliseconds(10);
        while (true)
        {
            var now = clock.GetUtcNow().UtcDateTime;
            var current = await store.DedupLeases.GetAsync(datasetId, cancellationToken);
            var taken = current is null
                ? new DedupLease { Id = datasetId, Holder = holder, ExpiresAt = now + TimeToLive }
                : current.ExpiresAt <= now ? current with { Holder = holder, ExpiresAt = now + TimeToLive, Revision = current.Revision + 1 } : null;
            if (taken is not null && (current is null
                    ? await store.DedupLeases.TryInsertAsync(taken, cancellationToken)
                    : await store.DedupLeases.TryReplaceAsync(taken, l => l.Revision == current.Revision, cancellationToken)))
                return new DedupLeaseHolder(store, clock, taken);
            if (clock.GetUtcNow() >= deadline)
                throw new TimeoutException($"Near dedup of dataset {datasetId} waited {MaxWait.TotalSeconds:F0} s for replica {current?.Holder ?? "?"} to finish a batch.");
            await Task.Delay(pause + TimeSpan.FromMilliseconds(Random.Shared.Next(10)), clock, cancellationToken);
            pause = TimeSpan.FromTicks(Math.Min(pause.Ticks * 2, TimeSpan.FromMilliseconds(200).Ticks));
        }
    }

    private async Task RenewAsync(CancellationToken stop)
    {
        using var timer = new PeriodicTimer(TimeToLive / 3, _clock);
        try
        {
            while (await timer.WaitForNextTickAsync(stop))
            {
                var renewed = _lease with { ExpiresAt = _clock.GetUtcNow().UtcDateTime + TimeToLive, Revision = _lease.Revision + 1 };
                var expected = _lease.Revision;
                if (!await _store.DedupLeases.TryReplaceAsync(renewed, l => l.Revision == expected, CancellationToken.None))
                    return; // taken over after this holder stalled past its lease; nothing more to renew
                _lease = renewed;
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await _heartbeat;
        _stop.Dispose();
        var expected = _lease.Revision;
        var released = _lease with { ExpiresAt = DateTime.MinValue, Revision = expected + 1 };
        await _store.DedupLeases.TryReplaceAsync(released, l => l.Revision == expected, CancellationToken.None);
    }
}
