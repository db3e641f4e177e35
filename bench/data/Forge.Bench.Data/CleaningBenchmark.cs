using System.Diagnostics;
using System.Text;
using System.Text.Json;
using Forge.Cleaning.Domain;
using Forge.Cleaning.Pipeline;
using Forge.Storage.Artifacts;
using Forge.Storage.Metadata;

namespace Forge.Bench.Data;

/// <summary>
/// Cleaning throughput of the full pipeline on one core: the corpus is cut into documents of about 2 KB (at blank
/// lines), written as raw JSONL batches of 2,000 documents, and each batch is cleaned exactly as the service does it
/// (mojibake repair, normalisation, Gopher quality filters, PII redaction, exact dedup, MinHash near dedup with the
/// LSH index in an embedded LiteDB store), one batch after another. Each repeat gets fresh stores, so dedup sees
/// the corpus for the first time.
/// </summary>
public static class CleaningBenchmark
{
    public static async Task<int> RunAsync(string corpusPath, int repeats)
    {
        // The corpus eight times over, each copy cut into documents of another size (1.5 to 2.6 KB), so documents
        // differ in their boundaries: about 9 MB from tinyshakespeare, with the overlap near dedup has to sort out.
        var corpus = await File.ReadAllTextAsync(corpusPath);
        var documents = Enumerable.Range(0, 8).SelectMany(k => Documents(corpus, 1500 + k * 150)).ToList();
        var batches = documents.Chunk(2000).Select(chunk => Encoding.UTF8.GetBytes(string.Concat(chunk.Select(d => JsonSerializer.Serialize(new { text = d }) + "\n")))).ToList();
        var megabytes = batches.Sum(b => b.Length) / 1e6;
        Console.WriteLine($"corpus: {corpusPath}, {documents.Count} documents, {batches.Count} batches, {megabytes:F1} MB of JSON lines; processors: {Environment.ProcessorCount}");
        var rates = new List<double>();
        for (var repeat = 0; repeat <= repeats; repeat++)
        {
            var folder = Path.Combine(Path.GetTempPath(), $"forge-bench-clean-{Guid.NewGuid():N}");
            using var metadata = new LiteDbMetadataStore(Path.Combine(folder, "metadata.db"));
            var artifacts = new FileSystemArtifactStore(Path.Combine(folder, "artifacts"));
            var store = new CleaningStore(metadata);
            await store.EnsureIndexesAsync(CancellationToken.None);
            var cleaner = new BatchCleaner(artifacts, new Deduplicator(store, TimeProvider.System));
            for (var i = 0; i < batches.Count; i++)
                await artifacts.PutBytesAsync($"datasets/bench/raw/b{i}.jsonl", batches[i]);

            var settings = new CleaningSettings();
            var kept = 0;
            var dropped = new Dictionary<string, int>();
            var cpu = Process.GetCurrentProcess().TotalProcessorTime;
            var watch = Stopwatch.StartNew();
            for (var i = 0; i < batches.Count; i++)
            {
                var result = await cleaner.CleanAsync("bench", $"b{i}", $"datasets/bench/raw/b{i}.jsonl", BatchCleaner.ShardKeyFor("bench", $"b{i}"), settings, CancellationToken.None);
                kept += result.DocumentsOut;
                foreach (var (reason, count) in result.Dropped)
                    dropped[reason] = dropped.GetValueOrDefault(reason) + count;
            }
            watch.Stop();
            var cpuSeconds = (Process.GetCurrentProcess().TotalProcessorTime - cpu).TotalSeconds;
            Directory.Delete(folder, recursive: true);
            var label = repeat == 0 ? "warm-up" : $"run {repeat}";
            Console.WriteLine($"{label}: {watch.Elapsed.TotalSeconds:F2} s wall, {cpuSeconds:F2} s CPU, {megabytes / watch.Elapsed.TotalSeconds:F1} MB/s wall, {megabytes / cpuSeconds:F1} MB per CPU-second; kept {kept}/{documents.Count}; dropped {string.Join(", ", dropped.OrderByDescending(d => d.Value).Select(d => $"{d.Key} {d.Value}"))}");
            if (repeat > 0)
                rates.Add(megabytes / Math.Max(watch.Elapsed.TotalSeconds, cpuSeconds));
        }
        rates.Sort();
        // Per core: the larger of wall and CPU time (the GC and the store's background work use the second core).
        Console.WriteLine($"cleaning throughput per core (median of {rates.Count}): {rates[rates.Count / 2]:F1} MB/s (min {rates[0]:F1}, max {rates[^1]:F1}); goal >= 10 MB/s per core");
        return 0;
    }

    private static IEnumerable<string> Documents(string text, int targetChars)
    {
        var current = new StringBuilder();
        foreach (var line in text.Split('\n'))
        {
            current.Append(line).Append('\n');
            if (current.Length >= targetChars && line.Length == 0)
            {
                yield return current.ToString();
                current.Clear();
            }
        }
        if (current.Length > 0)
            yield return current.ToString();
    }
}
