using System.Diagnostics;
using System.Text;
using Forge.Cleaning.Pipeline;
using Forge.TextExtraction;

namespace Forge.Bench.Data;

/// <summary>Where cleaning time goes: each per-document step timed alone over the same documents.</summary>
public static class StepProfile
{
    public static async Task<int> RunAsync(string corpusPath)
    {
        var text = await File.ReadAllTextAsync(corpusPath);
        var documents = text.Split("\n\n").Aggregate(new List<string> { "" }, (list, paragraph) =>
        {
            if (list[^1].Length > 2048)
                list.Add("");
            list[^1] += paragraph + "\n\n";
            return list;
        });
        var megabytes = Encoding.UTF8.GetByteCount(text) / 1e6;
        var settings = new CleaningSettings();
        var hasher = new MinHasher(settings.ShingleWords, settings.Bands, settings.RowsPerBand);
        var normalised = documents.Select(TextNormalizer.Normalize).ToList();
        var steps = new (string Name, Action<string> Step)[]
        {
            ("mojibake repair", d => MojibakeRepair.Repair(d)),
            ("html detection", d => HtmlText.LooksLikeHtml(d)),
            ("normalisation", d => TextNormalizer.Normalize(d)),
            ("quality filters", d => QualityFilter.Check(d, settings)),
            ("pii redaction", d => PiiRedactor.Redact(d)),
            ("text hash", d => Deduplicator.TextHash(d)),
            ("minhash signature", d => hasher.BandKeys(hasher.Signature(d))),
        };
        foreach (var (name, step) in steps)
        {
            // Best of five passes: the first ones run while the JIT is still tiering the code up.
            var best = TimeSpan.MaxValue;
            for (var pass = 0; pass < 5; pass++)
            {
                var watch = Stopwatch.StartNew();
                foreach (var document in normalised)
                    step(document);
                best = watch.Elapsed < best ? watch.Elapsed : best;
            }
            Console.WriteLine($"{name,-20} {best.TotalMilliseconds,8:F1} ms  {megabytes / best.TotalSeconds,8:F1} MB/s");
        }
        return 0;
    }
}
