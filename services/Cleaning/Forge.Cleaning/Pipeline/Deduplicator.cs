using System.Collections.Concurrent;
using System.IO.Hashing;
using System.Runtime.InteropServices;
using Forge.Cleaning.Domain;

namespace Forge.Cleaning.Pipeline;

/// <summary>A document that passed the per-document steps; its owner ("batchId#ordinal") identifies it across redeliveries.</summary>
public sealed record DedupCandidate(string Owner, string Text);

/// <summary>
/// Exact and near deduplication across every batch of a dataset, persisted in the metadata store so it holds across
/// batches, processes and restarts. Exact: a unique document per text hash (the store's unique id arbitrates races).
/// Near: MinHash signatures with LSH banding; candidates that share a band are confirmed by their estimated Jaccard
/// similarity. A document never counts as a duplicate of itself, so redelivering a batch changes nothing.
/// Near dedup of one dataset's batches runs one batch at a time: in this process under a gate, and across cleaning
/// replicas under the dataset's <see cref="DedupLease"/>.
/// </summary>
public sealed class Deduplicator(CleaningStore store, TimeProvider clock)
{
    public const string ExactDuplicate = "exact-duplicate";
    public const string NearDuplicate = "near-duplicate";
    private static readonly TimeSpan SyncOverlap = TimeSpan.FromMinutes(10);
    private readonly ConcurrentDictionary<string, DatasetIndex> _indexes = new();
    /// <summary>This replica, as dedup leases name their holder: two instances in one process (tests) are two replicas.</summary>
    private readonly string _replica = $"{Environment.MachineName}/{Environment.ProcessId}/{Guid.NewGuid().ToString("N")[..8]}";

    public static string TextHash(string text) =>
        Convert.ToHexStringLower(XxHash128.Hash(MemoryMarshal.AsBytes(text.AsSpan())));

    /// <summary>Returns, for each candidate in order, null to keep it or the reason it is a duplicate.</summary>
    public async Task<string?[]> DeduplicateAsync(string datasetId, string batchId, IReadOnlyList<DedupCandidate> candidates, CleaningSettings settings, CancellationToken cancellationToken)
    {
        var verdicts = new string?[candidates.Count];
        if (settings.ExactDedup)
            await MarkExactDuplicatesAsync(datasetId, candidates, verdicts, cancellationToken);
        if (settings.NearDedup)
            await MarkNearDuplicatesAsync(datasetId, batchId, candidates, verdicts, settings, cancellationToken);
        return verdicts;
    }

    private async Task MarkExactDuplicatesAsync(string datasetId, IReadOnlyList<DedupCandidate> candidates, string?[] verdicts, CancellationToken cancellationToken)
    {
        var fingerprints = candidates.Select(c => new Fingerprint { Id = $"{datasetId}:{TextHash(c.Text)}", DatasetId = datasetId, Owner = c.Owner }).ToList();
        var inserted = await store.Fingerprints.TryInsertManyAsync(fingerprints, cancellationToken);
        var taken = fingerprints.Where((_, i) => !inserted[i]).Select(f => f.Id).Distinct().ToList();
        if (taken.Count == 0)
            return;
        var holders = (await store.Fingerprints.GetManyAsync(taken, cancellationToken)).ToDictionary(f => f.Id, f => f.Owner);
        for (var i = 0; i < fingerprints.Count; i++)
        {
            if (!inserted[i] && holders.GetValueOrDefault(fingerprints[i].Id) != fingerprints[i].Owner)
                verdicts[i] = ExactDuplicate;
        }
    }

    private async Task MarkNearDuplicatesAsync(string datasetId, string batchId, IReadOnlyList<DedupCandidate> candidates, string?[] verdicts, CleaningSettings settings, CancellationToken cancellationToken)
    {
        var hasher = new MinHasher(settings.ShingleWords, settings.Bands, settings.RowsPerBand);
        var index = _indexes.GetOrAdd($"{datasetId}|{settings.ShingleWords}|{settings.Bands}x{settings.RowsPerBand}", _ => new DatasetIndex(datasetId));
        await index.Gate.WaitAsync(cancellationToken);
        try
        {
            await using var lease = await DedupLeaseHolder.AcquireAsync(store, datasetId, _replica, clock, cancellationToken);
            await index.SyncAsync(store, hasher, clock, SyncOverlap, cancellationToken);
            var kept = new List<LshEntry>();
            for (var i = 0; i < candidates.Count; i++)
            {
                if (verdicts[i] is not null)
                    continue;
                var candidate = candidates[i];
                var signature = hasher.Signature(candidate.Text);
                var bands = hasher.BandKeys(signature);
                if (await index.FindNearDuplicateAsync(store, hasher, candidate.Owner, signature, bands, settings.NearDuplicateJaccard, cancellationToken))
                {
                    verdicts[i] = NearDuplicate;
                    continue;
                }
                index.Add(candidate.Owner, signature, bands);
                kept.Add(new LshEntry(candidate.Owner, Encode(signature)));
            }
            var batch = new LshBatch { Id = $"{datasetId}:{batchId}", DatasetId = datasetId, Sequence = clock.GetUtcNow().UtcTicks, Entries = kept };
            await store.LshBatches.UpsertAsync(batch, cancellationToken);
            index.MarkLoaded(batch.Id);
        }
        finally
        {
            index.Gate.Release();
        }
    }

    internal static string Encode(ulong[] signature) => Convert.ToBase64String(MemoryMarshal.AsBytes(signature.AsSpan()));

    internal static ulong[] Decode(string signature) => MemoryMarshal.Cast<byte, ulong>(Convert.FromBase64String(signature)).ToArray();

    /// <summary>The in-memory LSH band index of one dataset, rebuilt from and kept in step with the stored batches.</summary>
    private sealed class DatasetIndex(string datasetId)
    {
        private readonly Dictionary<ulong, string> _bandOwners = [];
        private readonly Dictionary<string, ulong[]> _recentSignatures = [];
        private readonly HashSet<string> _loadedBatches = [];
        private readonly Dictionary<string, Dictionary<string, string>> _storedBatches = [];
        private readonly Queue<string> _storedBatchOrder = new();
        private long _highWater;

        public SemaphoreSlim Gate { get; } = new(1, 1);

        public async Task SyncAsync(CleaningStore store, MinHasher hasher, TimeProvider clock, TimeSpan overlap, CancellationToken cancellationToken)
        {
            // Batches stored since the last sync, with an overlap for batches another replica stored late; only the
            // ids are read, and only batches not seen before are loaded.
            var since = Math.Max(0, _highWater - overlap.Ticks);
            var ids = await store.LshBatches.FindIdsAsync(b => b.DatasetId == datasetId && b.Sequence >= since, cancellationToken);
            var unseen = ids.Where(id => !_loadedBatches.Contains(id)).ToList();
            foreach (var batch in await store.LshBatches.GetManyAsync(unseen, cancellationToken))
            {
                _highWater = Math.Max(_highWater, batch.Sequence);
                _loadedBatches.Add(batch.Id);
                foreach (var entry in batch.Entries)
                {
                    var signature = Decode(entry.Signature);
                    foreach (var band in hasher.BandKeys(signature))
                        _bandOwners.TryAdd(band, entry.Owner);
                }
            }
            _highWater = Math.Max(_highWater, clock.GetUtcNow().UtcTicks - overlap.Ticks);
        }

        public async Task<bool> FindNearDuplicateAsync(CleaningStore store, MinHasher hasher, string owner, ulong[] signature, ulong[] bands, double threshold, CancellationToken cancellationToken)
        {
            foreach (var band in bands)
            {
                if (!_bandOwners.TryGetValue(band, out var other) || other == owner)
                    continue;
                var otherSignature = await SignatureOfAsync(store, other, cancellationToken);
                if (otherSignature is not null && hasher.IsNearDuplicate(MinHasher.EstimateJaccard(signature, otherSignature), threshold))
                    return true;
            }
            return false;
        }

        public void Add(string owner, ulong[] signature, ulong[] bands)
        {
            foreach (var band in bands)
                _bandOwners.TryAdd(band, owner);
            _recentSignatures[owner] = signature;
        }

        public void MarkLoaded(string batchId)
        {
            _loadedBatches.Add(batchId);
            // Signatures of this batch are now in the store; keep memory to the band keys.
            _recentSignatures.Clear();
        }

        private async Task<ulong[]?> SignatureOfAsync(CleaningStore store, string owner, CancellationToken cancellationToken)
        {
            if (_recentSignatures.TryGetValue(owner, out var recent))
                return recent;
            var batchId = $"{datasetId}:{owner[..owner.LastIndexOf('#')]}";
            if (!_storedBatches.TryGetValue(batchId, out var entries))
            {
                var batch = await store.LshBatches.GetAsync(batchId, cancellationToken);
                entries = batch?.Entries.ToDictionary(e => e.Owner, e => e.Signature) ?? [];
                _storedBatches[batchId] = entries;
                _storedBatchOrder.Enqueue(batchId);
                // A few batches stay cached: a run of duplicates usually points at the same earlier batches.
                if (_storedBatchOrder.Count > 16)
                    _storedBatches.Remove(_storedBatchOrder.Dequeue());
            }
            return entries.TryGetValue(owner, out var stored) ? Decode(stored) : null;
        }
    }
}
