using System.Diagnostics;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Forge.Tokenization;
using Ml = Microsoft.ML.Tokenizers;

namespace Forge.Bench.Tokenizer;

/// <summary>
/// Forge's encoder against Microsoft.ML.Tokenizers with the same vocab.json and merges.txt (trained by Forge):
/// single-thread throughput, Forge's batch throughput, and line-by-line agreement of the ids.
/// </summary>
public static class EncodingBenchmark
{
    public static int Run(string corpus, int vocabularySize, int repeats)
    {
        var text = File.ReadAllText(corpus);
        var megabytes = Encoding.UTF8.GetByteCount(text) / 1e6;
        var documents = Regex.Split(text, @"\n\s*\n").Where(d => d.Length > 0).ToArray();
        Console.WriteLine($"corpus {corpus}: {megabytes:F2} MB UTF-8, {documents.Length:N0} paragraphs; vocabulary {vocabularySize:N0}; {repeats} timed runs after a warm-up of at least 1 s");

        var trainWatch = Stopwatch.StartNew();
        var ours = BpeTrainer.TrainFromFiles([corpus], new BpeTrainingOptions { VocabularySize = vocabularySize, SpecialTokens = ["<|endoftext|>"] });
        Console.WriteLine($"trained Forge BPE in {trainWatch.Elapsed.TotalSeconds:F2} s");

        var folder = Directory.CreateTempSubdirectory("forge-bench-encode").FullName;
        TokenizerFiles.WriteGpt2(ours, Path.Combine(folder, "vocab.json"), Path.Combine(folder, "merges.txt"));
        var ml = CreateMicrosoftMl(Path.Combine(folder, "vocab.json"), Path.Combine(folder, "merges.txt"), ours);

        var rows = new List<string>();
        foreach (var (label, items) in new[] { ("whole corpus, one string", new[] { text }), ("paragraphs, one call each", documents) })
        {
            var (oursSeconds, mlSeconds) = Timing.InTurns(
                repeats,
                () =>
                {
                    foreach (var item in items)
                        ours.Encode(item);
                },
                () =>
                {
                    foreach (var item in items)
                        ml.EncodeToIds(item);
                });
            rows.Add($"| {label} | {megabytes / Timing.Median(oursSeconds):F1} | {megabytes / Timing.Median(mlSeconds):F1} | **{Timing.Median(mlSeconds) / Timing.Median(oursSeconds):F2}x** |");
        }
        var batchSeconds = Timing.Measure(repeats, () => ours.EncodeBatch(documents));

        Console.WriteLine();
        Console.WriteLine("| encoding (single thread, MB/s, median) | Forge | Microsoft.ML.Tokenizers 2.0.1 | Forge / ML |");
        Console.WriteLine("|---|---|---|---|");
        rows.ForEach(Console.WriteLine);
        Console.WriteLine($"| paragraphs, Forge EncodeBatch on {Environment.ProcessorCount} cores | {megabytes / Timing.Median(batchSeconds):F1} | | |");

        PrintAgreement(text, ours, ml);
        Directory.Delete(folder, recursive: true);
        return 0;
    }

    /// <summary>Agreement, line by line (Hugging Face's behaviour is the reference; see the interop tests for the known cases).</summary>
    private static void PrintAgreement(string text, BpeTokenizer ours, Ml.BpeTokenizer ml)
    {
        var lines = text.Split('\n');
        var differingLines = 0;
        long differingTokens = 0, totalTokens = 0;
        var examples = new List<string>();
        foreach (var line in lines)
        {
            var a = ours.Encode(line);
            var b = ml.EncodeToIds(line).ToArray();
            totalTokens += a.Length;
            if (a.AsSpan().SequenceEqual(b))
                continue;
            differingLines++;
            differingTokens += a.Length;
            if (examples.Count < 3)
                examples.Add($"  {JsonSerializer.Serialize(line.Length > 80 ? line[..80] + "…" : line)}");
        }
        Console.WriteLine();
        Console.WriteLine($"agreement: {lines.Length - differingLines:N0} of {lines.Length:N0} lines encode identically; the other lines hold {differingTokens:N0} of {totalTokens:N0} tokens ({100.0 * differingTokens / Math.Max(1, totalTokens):F2}%)");
        examples.ForEach(Console.WriteLine);
    }

    private static Ml.BpeTokenizer CreateMicrosoftMl(string vocabPath, string mergesPath, BpeTokenizer ours)
    {
        var specials = ours.AddedTokens.ToDictionary(t => t.Content, t => t.Id);
        return Ml.BpeTokenizer.Create(new Ml.BpeOptions(vocabPath, mergesPath)
        {
            ByteLevel = true,
            SpecialTokens = specials,
            PreTokenizer = new Ml.RegexPreTokenizer(new Regex(PreTokenizer.Gpt2Regex, RegexOptions.Compiled), specials),
        });
    }
}
