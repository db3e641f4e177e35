using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Forge.Tokenization;
using Ml = Microsoft.ML.Tokenizers;

// Forge tokenizer benchmarks. Each command measures both sides in the same run and prints the ratio.
//   train <corpus> [repeats]             our trainer vs Hugging Face tokenizers (npm, Rust): time, merges, compression
//   encode <corpus> [vocab] [repeats]    our encoder vs Microsoft.ML.Tokenizers, same vocab and merges: MB/s, agreement
//   make-corpus <output> [bytes]         the >= 10 MB corpus: tinyshakespeare + the .NET reference XML docs
return args switch
{
    ["train", var corpus, .. var rest] => Train(corpus, rest is [var r, ..] ? int.Parse(r) : 3),
    ["encode", var corpus, .. var rest] => Encode(corpus, rest is [var v, ..] ? int.Parse(v) : 8192, rest is [_, var r, ..] ? int.Parse(r) : 5),
    ["make-corpus", var output, .. var rest] => MakeCorpus(output, rest is [var b, ..] ? long.Parse(b) : 12_000_000),
    _ => Usage(),
};

static int Usage()
{
    Console.Error.WriteLine("usage: train <corpus> [repeats] | encode <corpus> [vocab] [repeats] | make-corpus <output> [bytes]");
    return 2;
}

static int Train(string corpus, int repeats)
{
    var text = File.ReadAllText(corpus);
    Console.WriteLine($"corpus {corpus}: {new FileInfo(corpus).Length:N0} bytes, {text.Length:N0} chars; {Environment.ProcessorCount} cores; {repeats} runs each");

    var hfFolder = Path.Combine(Path.GetTempPath(), $"forge-bench-hf-{Guid.NewGuid():N}");
    var hf = RunHuggingFace(corpus, hfFolder, encode: true);
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
            hf.TrainSeconds.AddRange(RunHuggingFace(corpus, hfFolder, encode: false).TrainSeconds);
        var watch = Stopwatch.StartNew();
        ours = BpeTrainer.TrainFromFiles([corpus], options);
        ourSeconds.Add(watch.Elapsed.TotalSeconds);
    }

    var ourMerges = ours.Merges.ToList();
    var firstDifference = Enumerable.Range(0, Math.Min(ourMerges.Count, hfMerges.Count)).FirstOrDefault(i => ourMerges[i] != hfMerges[i], -1);
    var ourTokens = ours.CountTokens(text);
    var hfIds = ReadIds(Path.Combine(hfFolder, "ids.bin"));
    var replayed = hfTokenizer.Encode(text);
    var characters = text.EnumerateRunes().Count();

    Console.WriteLine();
    Console.WriteLine($"| training ({ours.VocabularySize - 256:N0} merges) | Forge (C#) | HF tokenizers (Rust) | Forge / HF |");
    Console.WriteLine("|---|---|---|---|");
    Console.WriteLine($"| median time, s | {Median(ourSeconds):F3} | {Median(hf.TrainSeconds):F3} | **{Median(ourSeconds) / Median(hf.TrainSeconds):F2}x** |");
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

static int Encode(string corpus, int vocabularySize, int repeats)
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
        var (oursSeconds, mlSeconds) = TimeInTurns(
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
        rows.Add($"| {label} | {megabytes / Median(oursSeconds):F1} | {megabytes / Median(mlSeconds):F1} | **{Median(mlSeconds) / Median(oursSeconds):F2}x** |");
    }
    var batchSeconds = Time(repeats, () => ours.EncodeBatch(documents));

    Console.WriteLine();
    Console.WriteLine("| encoding (single thread, MB/s, median) | Forge | Microsoft.ML.Tokenizers 2.0.1 | Forge / ML |");
    Console.WriteLine("|---|---|---|---|");
    rows.ForEach(Console.WriteLine);
    Console.WriteLine($"| paragraphs, Forge EncodeBatch on {Environment.ProcessorCount} cores | {megabytes / Median(batchSeconds):F1} | | |");

    // Agreement, line by line (Hugging Face's behaviour is the reference; see the interop tests for the known cases).
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
    Directory.Delete(folder, recursive: true);
    return 0;
}

static Ml.BpeTokenizer CreateMicrosoftMl(string vocabPath, string mergesPath, BpeTokenizer ours)
{
    var specials = ours.AddedTokens.ToDictionary(t => t.Content, t => t.Id);
    return Ml.BpeTokenizer.Create(new Ml.BpeOptions(vocabPath, mergesPath)
    {
        ByteLevel = true,
        SpecialTokens = specials,
        PreTokenizer = new Ml.RegexPreTokenizer(new Regex(PreTokenizer.Gpt2Regex, RegexOptions.Compiled), specials),
    });
}

static int MakeCorpus(string output, long bytes)
{
    // Deterministic for a given .NET SDK: tinyshakespeare (from ../shared/data), then every XML documentation file of
    // the Microsoft.NETCore.App reference pack, ordinal order of file name, cut at the last line break before `bytes`.
    var root = Path.GetDirectoryName(typeof(object).Assembly.Location)!;
    var dotnet = Path.GetFullPath(Path.Combine(root, "..", "..", ".."));
    var pack = Directory.GetDirectories(Path.Combine(dotnet, "packs", "Microsoft.NETCore.App.Ref")).Order(StringComparer.Ordinal).Last();
    var docs = Directory.GetFiles(Path.Combine(pack, "ref", "net10.0"), "*.xml").Order(StringComparer.Ordinal).ToList();
    var shakespeare = FindUpwards(Path.Combine("shared", "data", "tinyshakespeare.txt"))
        ?? throw new FileNotFoundException("tinyshakespeare.txt was not found in a shared/data folder above the current one.");
    using (var file = File.Create(output))
    {
        foreach (var source in docs.Prepend(shakespeare))
        {
            var content = File.ReadAllBytes(source);
            var room = bytes - file.Length;
            if (content.Length >= room)
            {
                var cut = Array.LastIndexOf(content, (byte)'\n', (int)room - 1) + 1;
                file.Write(content, 0, cut);
                break;
            }
            file.Write(content);
        }
    }
    var hash = Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(output)));
    Console.WriteLine($"{output}: {new FileInfo(output).Length:N0} bytes, sha256 {hash} (from {Path.GetFileName(pack)} reference docs)");
    return 0;
}

/// <summary>One training run of hf/train.js; with <paramref name="encode"/>, also HF's encoding of the corpus (ids.bin).</summary>
static (List<double> TrainSeconds, double EncodeSeconds, int Tokens) RunHuggingFace(string corpus, string folder, bool encode)
{
    var script = FindUpwards(Path.Combine("bench", "tokenizer", "hf", "train.js"))
        ?? throw new FileNotFoundException("bench/tokenizer/hf/train.js was not found above the current folder.");
    if (!Directory.Exists(Path.Combine(Path.GetDirectoryName(script)!, "node_modules")))
        throw new InvalidOperationException($"Run `npm ci` in {Path.GetDirectoryName(script)} first.");
    var start = new ProcessStartInfo("node", [script, Path.GetFullPath(corpus), folder, "1", encode ? "encode" : "no-encode"]) { RedirectStandardOutput = true };
    using var node = Process.Start(start)!;
    var output = node.StandardOutput.ReadToEnd();
    node.WaitForExit();
    if (node.ExitCode != 0)
        throw new InvalidOperationException($"node train.js failed ({node.ExitCode}).");
    using var result = JsonDocument.Parse(File.ReadAllText(Path.Combine(folder, "result.json")));
    var root = result.RootElement;
    var encodeSeconds = root.GetProperty("encodeSeconds") is { ValueKind: JsonValueKind.Number } seconds ? seconds.GetDouble() : double.NaN;
    return ([.. root.GetProperty("trainSeconds").EnumerateArray().Select(e => e.GetDouble())], encodeSeconds, root.GetProperty("tokens").GetInt32());
}

static string? FindUpwards(string relative)
{
    foreach (var start in new[] { Environment.CurrentDirectory, AppContext.BaseDirectory })
    {
        for (var folder = new DirectoryInfo(start); folder is not null; folder = folder.Parent)
        {
            var candidate = Path.Combine(folder.FullName, relative);
            if (File.Exists(candidate))
                return candidate;
        }
    }
    return null;
}

static int[] ReadIds(string path)
{
    var bytes = File.ReadAllBytes(path);
    var ids = new int[bytes.Length / 4];
    Buffer.BlockCopy(bytes, 0, ids, 0, bytes.Length);
    return ids;
}

static int FirstDifference(int[] a, int[] b) => Enumerable.Range(0, Math.Min(a.Length, b.Length)).FirstOrDefault(i => a[i] != b[i], Math.Min(a.Length, b.Length));

/// <summary>Times two actions in alternation (a, b, a, b, …), so that a neighbour's load falls on both alike.</summary>
static (List<double> A, List<double> B) TimeInTurns(int repeats, Action a, Action b)
{
    var (aSeconds, bSeconds) = (new List<double>(), new List<double>());
    Time(1, a);
    Time(1, b);
    for (var run = 0; run < repeats; run++)
    {
        aSeconds.AddRange(Time(1, a, warmUp: false));
        bSeconds.AddRange(Time(1, b, warmUp: false));
    }
    return (aSeconds, bSeconds);
}

static List<double> Time(int repeats, Action action, bool warmUp = true)
{
    // Warm up for a second and at least three runs, so that both sides are timed with fully optimised (tier-1) code.
    var warmUpWatch = Stopwatch.StartNew();
    for (var run = 0; warmUp && (run < 3 || warmUpWatch.Elapsed < TimeSpan.FromSeconds(1)); run++)
        action();
    var seconds = new List<double>();
    for (var run = 0; run < repeats; run++)
    {
        var watch = Stopwatch.StartNew();
        action();
        seconds.Add(watch.Elapsed.TotalSeconds);
    }
    return seconds;
}

static double Median(List<double> values)
{
    var sorted = values.Order().ToList();
    return sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[sorted.Count / 2 - 1] + sorted[sorted.Count / 2]) / 2;
}
