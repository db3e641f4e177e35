using Forge.Cleaning.Domain;
using Forge.Cleaning.Pipeline;
using Forge.Storage.Metadata;
using Forge.Testing;

namespace Forge.Services.Tests;

/// <summary>
/// Dedup quality on a generated corpus with planted near-duplicates whose Jaccard similarity (over the same
/// five-word shingles MinHash uses) is computed exactly: recall at J ≥ 0.8, false positives at J ≤ 0.5.
/// </summary>
public sealed class NearDuplicateDetectionTests : IDisposable
{
    private readonly TemporaryFolder _folder = new("near-dedup");
    private readonly LiteDbMetadataStore _metadata;
    private readonly Random _random = new(20261128);
    private readonly string[] _vocabulary;

    public NearDuplicateDetectionTests()
    {
        _metadata = new LiteDbMetadataStore(Path.Combine(_folder.Path, "metadata.db"));
        _vocabulary = Enumerable.Range(0, 5000).Select(_ => new string(Enumerable.Range(0, _random.Next(3, 10)).Select(_ => (char)('a' + _random.Next(26))).ToArray())).ToArray();
    }

    private string[] RandomWords(int count) => Enumerable.Range(0, count).Select(_ => _vocabulary[_random.Next(_vocabulary.Length)]).ToArray();

    private string[] Edit(string[] words, int replacements)
    {
        var copy = (string[])words.Clone();
        foreach (var position in Enumerable.Range(0, copy.Length).OrderBy(_ => _random.Next()).Take(replacements))
            copy[position] = _vocabulary[_random.Next(_vocabulary.Length)];
        return copy;
    }

    private static double Jaccard(string[] left, string[] right)
    {
        static HashSet<string> Shingles(string[] words) => Enumerable.Range(0, words.Length - 4).Select(i => string.Join(' ', words, i, 5)).ToHashSet();
        var a = Shingles(left);
        var b = Shingles(right);
        return (double)a.Intersect(b).Count() / a.Union(b).Count();
    }

    [Fact]
    public async Task PlantedNearDuplicatesAreFoundAndDistinctDocumentsAreKept()
    {
        var settings = new CleaningSettings { QualityFilters = false, ExactDedup = false };
        var originals = Enumerable.Range(0, 300).Select(_ => RandomWords(200)).ToList();
        var similar = new List<(string[] Words, double Jaccard)>();
        var different = new List<(string[] Words, double Jaccard)>();
        foreach (var original in originals)
        {
            var near = Edit(original, _random.Next(1, 5));
            var far = Edit(original, _random.Next(20, 60));
            similar.Add((near, Jaccard(original, near)));
            different.Add((far, Jaccard(original, far)));
        }
        var atLeast08 = similar.Where(p => p.Jaccard >= 0.8).ToList();
        var atMost05 = different.Where(p => p.Jaccard <= 0.5).ToList();
        Assert.True(atLeast08.Count >= 250, $"only {atLeast08.Count} planted pairs at J >= 0.8");
        Assert.True(atMost05.Count >= 250, $"only {atMost05.Count} planted pairs at J <= 0.5");

        var deduplicator = new Deduplicator(new CleaningStore(_metadata), TimeProvider.System);
        var kept = await deduplicator.DeduplicateAsync("corpus", "originals", Candidates("originals", originals), settings, CancellationToken.None);
        var nearVerdicts = await deduplicator.DeduplicateAsync("corpus", "near", Candidates("near", atLeast08.Select(p => p.Words).ToList()), settings, CancellationToken.None);
        // A fresh index over the same store, as after a restart, must know the earlier batches.
        var restarted = new Deduplicator(new CleaningStore(_metadata), TimeProvider.System);
        var farVerdicts = await restarted.DeduplicateAsync("corpus", "far", Candidates("far", atMost05.Select(p => p.Words).ToList()), settings, CancellationToken.None);

        var recall = (double)nearVerdicts.Count(v => v == Deduplicator.NearDuplicate) / nearVerdicts.Length;
        var falsePositives = (double)farVerdicts.Count(v => v is not null) / farVerdicts.Length;
        Assert.All(kept, verdict => Assert.Null(verdict));
        Assert.True(recall >= 0.9, $"recall {recall:P1} at J >= 0.8 over {nearVerdicts.Length} pairs");
        Assert.True(falsePositives <= 0.01, $"false positives {falsePositives:P1} at J <= 0.5 over {farVerdicts.Length} pairs");
    }

    [Fact]
    public async Task TwoReplicasCleaningOneDatasetAtOnceKeepOnlyOneOfEachNearDuplicatePair()
    {
        var settings = new CleaningSettings { QualityFilters = false, ExactDedup = false };
        // Two replicas: their own in-memory indexes, one store whose index writes take 50 ms (a remote server's round
        // trip, say). Each pair's halves arrive at both at the same moment.
        var store = new SlowWritesMetadataStore(_metadata, "cleaning_lsh", TimeSpan.FromMilliseconds(50));
        var first = new Deduplicator(new CleaningStore(store), TimeProvider.System);
        var second = new Deduplicator(new CleaningStore(store), TimeProvider.System);
        var pairs = Enumerable.Range(0, 20).Select(_ => RandomWords(200)).Select(words => (Original: words, Near: (string[])[.. words, "amen"])).ToList();

        var bothKept = 0;
        for (var i = 0; i < pairs.Count; i++)
        {
            var dataset = $"replicas-{i}";
            var verdicts = await Task.WhenAll(
                Task.Run(() => first.DeduplicateAsync(dataset, "a", Candidates("a", [pairs[i].Original]), settings, CancellationToken.None)),
                Task.Run(() => second.DeduplicateAsync(dataset, "b", Candidates("b", [pairs[i].Near]), settings, CancellationToken.None)));
            var kept = verdicts.Count(v => v[0] is null);
            Assert.True(kept >= 1, $"pair {i}: both halves dropped");
            if (kept == 2)
                bothKept++;
        }
        Assert.Equal(0, bothKept);
    }

    [Fact]
    public async Task AReplicaThatDiedHoldingADatasetsDedupLeaseHoldsUpTheOthersOnlyUntilItExpires()
    {
        var store = new CleaningStore(_metadata);
        var expiry = DateTime.UtcNow.AddSeconds(1.5);
        await store.DedupLeases.TryInsertAsync(new DedupLease { Id = "orphaned", Holder = "dead-replica", ExpiresAt = expiry });
        var settings = new CleaningSettings { QualityFilters = false, ExactDedup = false };

        var verdicts = await new Deduplicator(store, TimeProvider.System).DeduplicateAsync("orphaned", "a", Candidates("a", [RandomWords(50)]), settings, CancellationToken.None);

        Assert.Null(verdicts[0]);
        Assert.True(DateTime.UtcNow >= expiry, "near dedup went ahead while the dead replica's lease was still valid");
        var released = await store.DedupLeases.GetAsync("orphaned");
        Assert.NotEqual("dead-replica", released!.Holder);
        Assert.True(released.ExpiresAt <= DateTime.UtcNow, "the lease was not given up after the batch");
    }

    private static List<DedupCandidate> Candidates(string batch, IReadOnlyList<string[]> documents) =>
        documents.Select((words, i) => new DedupCandidate($"{batch}#{i}", string.Join(' ', words))).ToList();

    public void Dispose()
    {
        _metadata.Dispose();
        _folder.Dispose();
    }
}
