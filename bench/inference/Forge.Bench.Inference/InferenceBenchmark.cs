using System.Diagnostics;
using System.Globalization;
using Forge.Model;
using TorchSharp;

namespace Forge.Bench.Inference;

/// <summary>
/// Generation with the KV cache against the uncached loop on one randomly initialised GPT, then one stream and
/// concurrent streams; prints a table of medians and exits 1 when a cached or concurrent generation differs.
/// </summary>
public static class InferenceBenchmark
{
    public static int Run(string[] args)
    {
        int Option(string name, int fallback)
        {
            var at = Array.IndexOf(args, name);
            return at >= 0 && at + 1 < args.Length ? int.Parse(args[at + 1], CultureInfo.InvariantCulture) : fallback;
        }
        var repeats = Option("--repeats", 3);
        var streams = Option("--streams", 8);
        var newTokens = Option("--new", 256);
        var promptLength = Option("--prompt", 64);
        var config = new GptConfig
        {
            Layers = Option("--layers", 6),
            Heads = Option("--heads", 6),
            Width = Option("--width", 384),
            ContextLength = Option("--context", 512),
            VocabularySize = Option("--vocabulary", 4096),
        };
        TorchRuntime.ConfigureThreads(Option("--threads", 2));

        torch.manual_seed(1337);
        using var model = new Gpt(config);
        model.eval();
        var random = new Random(1);
        int[] prompt = [.. Enumerable.Range(0, promptLength).Select(_ => random.Next(config.VocabularySize))];
        var greedy = new GenerationOptions { MaxNewTokens = newTokens };
        Console.WriteLine($"GPT: {config.Layers} layers, {config.Heads} heads, width {config.Width}, context {config.ContextLength}, vocabulary {config.VocabularySize}, " +
            $"{model.ParameterCount:N0} parameters, random weights (seed 1337); prompt {promptLength} tokens, {newTokens} new; " +
            $"{Environment.ProcessorCount} cores, {torch.get_num_threads()} libtorch threads");

        (double Seconds, int[] Tokens) Time(Func<int[]> generate)
        {
            var watch = Stopwatch.StartNew();
            var tokens = generate();
            return (watch.Elapsed.TotalSeconds, tokens);
        }

        TokenGenerator.Generate(model, prompt, greedy with { MaxNewTokens = 8 }); // first calls load kernels and JIT
        TokenGenerator.GenerateWithoutCache(model, prompt, greedy with { MaxNewTokens = 8 });

        var uncachedSeconds = new List<double>();
        var cachedSeconds = new List<double>();
        var sampledSeconds = new List<double>();
        var firstTokenSeconds = new List<double>();
        var streamedTokensPerSecond = new List<double>();
        var concurrentTokensPerSecond = new List<double>();
        var identical = true;
        for (var repeat = 1; repeat <= repeats; repeat++)
        {
            // Alternate which goes first, so drift in the machine's load favours neither.
            (double Seconds, int[] Tokens) uncached, cached;
            if (repeat % 2 == 1)
            {
                uncached = Time(() => TokenGenerator.GenerateWithoutCache(model, prompt, greedy));
                cached = Time(() => TokenGenerator.Generate(model, prompt, greedy));
            }
            else
            {
                cached = Time(() => TokenGenerator.Generate(model, prompt, greedy));
                uncached = Time(() => TokenGenerator.GenerateWithoutCache(model, prompt, greedy));
            }
            identical &= uncached.Tokens.SequenceEqual(cached.Tokens);
            uncachedSeconds.Add(uncached.Seconds);
            cachedSeconds.Add(cached.Seconds);

            var sampled = Time(() => TokenGenerator.Generate(model, prompt, greedy with { Temperature = 0.8, Seed = repeat }));
            sampledSeconds.Add(sampled.Seconds);

            var watch = Stopwatch.StartNew();
            var streamed = 0;
            foreach (var _ in TokenGenerator.Stream(model, prompt, greedy, CancellationToken.None))
            {
                if (streamed++ == 0)
                    firstTokenSeconds.Add(watch.Elapsed.TotalSeconds);
            }
            streamedTokensPerSecond.Add(streamed / watch.Elapsed.TotalSeconds);

            var results = new int[streams][];
            var threads = Enumerable.Range(0, streams).Select(i => new Thread(() => results[i] = TokenGenerator.Generate(model, prompt, greedy))).ToArray();
            watch.Restart();
            foreach (var thread in threads)
                thread.Start();
            foreach (var thread in threads)
                thread.Join();
            concurrentTokensPerSecond.Add(results.Sum(r => r.Length) / watch.Elapsed.TotalSeconds);
            identical &= results.All(r => r.SequenceEqual(cached.Tokens));

            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"repeat {repeat}: without cache {uncached.Seconds:F2} s, with cache {cached.Seconds:F2} s ({uncached.Seconds / cached.Seconds:F1}×), sampled {sampled.Seconds:F2} s, " +
                $"one stream {streamedTokensPerSecond[^1]:F0} tokens/s, {streams} streams {concurrentTokensPerSecond[^1]:F0} tokens/s in all"));
        }

        string Row(string name, List<double> values, string format)
        {
            string Show(double value) => value.ToString(format, CultureInfo.InvariantCulture);
            return $"| {name} | {Show(values.Order().ElementAt(values.Count / 2))} | {Show(values.Min())} | {Show(values.Max())} |";
        }
        Console.WriteLine();
        Console.WriteLine($"| Figure ({repeats} repeats) | median | min | max |");
        Console.WriteLine("|---|---|---|---|");
        Console.WriteLine(Row($"{newTokens} tokens without the cache, temperature 0 (s)", uncachedSeconds, "F2"));
        Console.WriteLine(Row($"{newTokens} tokens with the cache, temperature 0 (s)", cachedSeconds, "F3"));
        Console.WriteLine(Row("speed-up of the cache, per repeat (×)", [.. uncachedSeconds.Zip(cachedSeconds, (u, c) => u / c)], "F1"));
        Console.WriteLine(Row($"{newTokens} tokens with the cache, temperature 0.8 over the whole vocabulary (s)", sampledSeconds, "F3"));
        Console.WriteLine(Row($"one stream: first token, {promptLength}-token prompt (ms)", [.. firstTokenSeconds.Select(s => s * 1000)], "F1"));
        Console.WriteLine(Row("one stream (tokens/s)", streamedTokensPerSecond, "F0"));
        Console.WriteLine(Row($"{streams} concurrent streams, in all (tokens/s)", concurrentTokensPerSecond, "F0"));
        Console.WriteLine(Row($"{streams} concurrent streams, each (tokens/s)", [.. concurrentTokensPerSecond.Select(t => t / streams)], "F0"));
        Console.WriteLine();
        Console.WriteLine(identical
            ? "Every cached and concurrent generation gave the uncached loop's tokens."
            : "MISMATCH: a cached or concurrent generation differed from the uncached loop.");
        return identical ? 0 : 1;
    }
}
