using System.Diagnostics;
using System.Text.Json;

namespace Forge.Bench.Tokenizer;

/// <summary>What one run of hf/train.js reports: its training times, its encoding time (NaN without encoding) and its token count.</summary>
public sealed record HuggingFaceRun(List<double> TrainSeconds, double EncodeSeconds, int Tokens)
{
    /// <summary>One training run of hf/train.js into <paramref name="folder"/>; with <paramref name="encode"/>, also HF's encoding of the corpus (ids.bin).</summary>
    public static HuggingFaceRun Train(string corpus, string folder, bool encode)
    {
        var script = RepositoryFiles.FindUpwards(Path.Combine("bench", "tokenizer", "hf", "train.js"))
            ?? throw new FileNotFoundException("bench/tokenizer/hf/train.js was not found above the current folder.");
        if (!Directory.Exists(Path.Combine(Path.GetDirectoryName(script)!, "node_modules")))
            throw new InvalidOperationException($"Run `npm ci` in {Path.GetDirectoryName(script)} first.");
        var start = new ProcessStartInfo("node", [script, Path.GetFullPath(corpus), folder, "1", encode ? "encode" : "no-encode"]) { RedirectStandardOutput = true };
        using var node = Process.Start(start)!;
        // train.js also prints its result as JSON; it is read from result.json, and stdout only drained so that node cannot stall on a full pipe.
        _ = node.StandardOutput.ReadToEnd();
        node.WaitForExit();
        if (node.ExitCode != 0)
            throw new InvalidOperationException($"node train.js failed ({node.ExitCode}).");
        using var result = JsonDocument.Parse(File.ReadAllText(Path.Combine(folder, "result.json")));
        var root = result.RootElement;
        var encodeSeconds = root.GetProperty("encodeSeconds") is { ValueKind: JsonValueKind.Number } seconds ? seconds.GetDouble() : double.NaN;
        return new([.. root.GetProperty("trainSeconds").EnumerateArray().Select(e => e.GetDouble())], encodeSeconds, root.GetProperty("tokens").GetInt32());
    }

    /// <summary>The ids of HF's encoding of the corpus, as a run with encoding left them in <paramref name="folder"/>.</summary>
    public static int[] ReadEncodedIds(string folder)
    {
        var bytes = File.ReadAllBytes(Path.Combine(folder, "ids.bin"));
        var ids = new int[bytes.Length / 4];
        Buffer.BlockCopy(bytes, 0, ids, 0, bytes.Length);
        return ids;
    }
}
