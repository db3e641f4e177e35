using System.Diagnostics;
using Forge.Tokenization;

namespace Forge.Bench.Tokenizer;

/// <summary>
/// Forge's BPE trainer against Hugging Face tokenizers on the same corpus and the same number of merges: time, the
/// merge lists, compression, and whether HF's tokenizer.json loaded into Forge reproduces HF's ids.
/// </summary>
public static class TrainingBenchmark
{
    public static int Run(string corpus, int repeats)
    {
        var text = File.ReadAllText(corpus);
        Console.WriteLine($"corpus {corpus}: {new FileInfo(corpus).Length:N0} bytes, {text.Length:N0} chars; {Environment.ProcessorCount} cores; {repeats} runs each");

        var hfFolder = Path.Combine(Path.GetTempPath(), $"forge-bench-hf-{Guid.NewGuid():N}");
        var hf = HuggingFaceRun.Train(corpus, hfFolder, encode: true);
        var hfTokenizer = TokenizerFiles.ReadHuggingFace(Path.Combine(hfFolder, "tokenizer.json"));
        var hfMerges = hfTokenizer.Merges.ToList();

        // Hugging Face's binding trains with its defaults (see hf/train.js): the same number of merges, minimum frequency 0.
        var options = new BpeTrainingOptions { VocabularySize = 256 + hfMerges.Count, MinimumPairFrequency = 0, SpecialTokens = [] };
        // The first run includes compiling the trainer (.NET's JIT); it is reported apart, and the median is over the runs
        // after it. Then the two sides take turns, so that a neighbour's load falls on both alike.
        var coldWatch = Stopwatch.StartNew();
        var ours = BpeTrainer.TrainFromFiles([corpus], options);
        var coldSeconds = coldWatch.Elapsed.TotalSeconds;
        var ourSeconds = new List<double>();
        for (var run = 0; run < repeats; run++)
        {
            if (run > 0)
                hf.TrainSeconds.AddRange(HuggingFaceRun.Train(corpus, hfFolder, encode: false).TrainSeconds);
            var watch = Stopwatch.StartNew();
            ours = BpeTrainer.TrainFromFiles([corpus], options);
            ourSeconds.Add(watch.Elapsed.TotalSeconds);
        }

        var ourMerges = ours.Merges.ToList();
        var firstDifference = Enumerable.Range(0, Math.Min(ourMerges.Count, hfMerges.Count)).FirstOrDefault(i => ourMerges[i] != hfMerges[i], -1);
        var ourTokens = ours.CountTokens(text);
        var hfIds = HuggingFaceRun.ReadEncodedIds(hfFolder);
        var replayed = hfTokenizer.Encode(text);
        var characters = text.EnumerateRunes().Count();

        Console.WriteLine();
        Console.WriteLine($"| training ({ours.VocabularySize - 256:N0} merges) | Forge (C#) | HF tokenizers (Rust) | Forge / HF |");
        Console.WriteLine("|---|---|---|---|");
        Console.WriteLine($"| median time, s | {Timing.Median(ourSeconds):F3} | {Timing.Median(hf.TrainSeconds):F3} | **{Timing.Median(ourSeconds) / Timing.Median(hf.TrainSeconds):F2}x** |");
        Console.WriteLine($"| best time, s | {ourSeconds.Min():F3} | {hf.TrainSeconds.Min():F3} | {ourSeconds.Min() / hf.TrainSeconds.Min():F2}x |");
        Console.WriteLine($"| first run (Forge: JIT included), s | {coldSeconds:F3} | {hf.TrainSeconds[0]:F3} | {coldSeconds / hf.TrainSeconds[0]:F2}x |");
        Console.WriteLine($"| tokens for the corpus | {ourTokens:N0} | {hf.Tokens:N0} | |");
        Console.WriteLine($"| characters per token | {(double)characters / ourTokens:F4} | {(double)characters / hf.Tokens:F4} | **{(double)hf.Tokens / ourTokens:F4}** |");
        Console.WriteLine();
        Console.WriteLine(firstDifference < 0 && ourMerges.Count == hfMerges.Count
            ? $"merges: all {ourMerges.Count:N0} identical to HF's, in the same order"
            : $"merges: {ourMerges.Count:N0} vs {hfMerges.Count:N0}; first difference at rank {firstDifference}");
        Console.WriteLine(replayed.AsSpan().SequenceEqual(hfIds)
            ? $"HF's tokenizer.json loaded into Forge encodes the corpus to HF's {hfIds.Length:N0} ids exactly"
            : $"HF's tokenizer.json loaded into Forge: {replayed.Length:N0} ids vs HF's {hfIds.Length:N0}; first difference at {FirstDifference(replayed, hfIds)}");
        Console.WriteLine($"(HF encoded the corpus as one string in {hf.EncodeSeconds:F3} s)");
        Console.WriteLine($"HF runs, s: {string.Join(", ", hf.TrainSeconds.Select(t => t.ToString("F3")))}; Forge runs, s: {string.Join(", ", ourSeconds.Select(t => t.ToString("F3")))}");
        Directory.Delete(hfFolder, recursive: true);
        return 0;
    }

    private static int FirstDifference(int[] a, int[] b) => Enumerable.Range(0, Math.Min(a.Length, b.Length)).FirstOrDefault(i => a[i] != b[i], Math.Min(a.Length, b.Length));
}
