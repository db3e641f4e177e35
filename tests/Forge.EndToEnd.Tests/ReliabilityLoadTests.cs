using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Xunit.Abstractions;

namespace Forge.EndToEnd.Tests;

/// <summary>
/// The embedded host with a promoted model, limits raised so that only the host's own capacity shapes the load.
/// Prepares nothing unless FORGE_LOAD_TEST=1 asks for the load test: training the model takes a while.
/// </summary>
public sealed class LoadForge : EmbeddedForge
{
    public const string Model = "load";

    public static bool Requested => Environment.GetEnvironmentVariable("FORGE_LOAD_TEST") == "1";

    protected override IReadOnlyDictionary<string, string?> Settings => new Dictionary<string, string?>
    {
        ["Forge:Security:PermitsPerSecond"] = "100000",
        ["Forge:Security:Burst"] = "100000",
        ["Inference:MaxConcurrentPerKey"] = "16",
    };

    public override async Task InitializeAsync()
    {
        if (!Requested)
            return;
        await base.InitializeAsync();
        var data = await ModelPipeline.PrepareDataAsync(Client, "bpe-load");
        await ModelPipeline.TrainPromotedAsync(Client, data, Model);
    }

    public override async Task DisposeAsync()
    {
        if (Requested)
            await base.DisposeAsync();
    }
}

/// <summary>
/// Eight concurrent NDJSON streams and chat requests against the embedded host for FORGE_LOAD_SECONDS (60): nothing
/// lost, no error, and the latencies and throughput reported. Runs only with FORGE_LOAD_TEST=1 (see bench/load/README.md).
/// </summary>
public sealed class ReliabilityLoadTests(LoadForge forge, ITestOutputHelper output) : IClassFixture<LoadForge>
{
    private const int Streams = 8;
    private const int ChatClients = 2;
    private const int DocumentsPerRequest = 200;

    [SkippableFact]
    public async Task EightStreamsAndChatForAMinuteLoseNothingAndReturnNoError()
    {
        Skip.IfNot(LoadForge.Requested, "a load test of over a minute: set FORGE_LOAD_TEST=1 to run it");
        var seconds = int.TryParse(Environment.GetEnvironmentVariable("FORGE_LOAD_SECONDS"), CultureInfo.InvariantCulture, out var s) ? s : 60;
        var datasets = Enumerable.Range(0, Streams).Select(_ => SliceScenarios.NewDatasetId()).ToArray();
        foreach (var dataset in datasets)
            await SliceScenarios.CreateDatasetAsync(forge.Client, dataset);
        var ingestLatencies = new ConcurrentBag<double>();
        var chatLatencies = new ConcurrentBag<double>();
        var errors = new ConcurrentBag<string>();
        var accepted = new long[Streams];

        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(seconds));
        var watch = Stopwatch.StartNew();
        var streams = Enumerable.Range(0, Streams).Select(i => Task.Run(async () =>
        {
            var generator = new CorpusGenerator(100 + i);
            while (!stop.IsCancellationRequested)
            {
                var body = string.Concat(Enumerable.Range(0, DocumentsPerRequest).Select(_ => CorpusGenerator.Line(generator.Document(40))));
                using var content = new StringContent(body, Encoding.UTF8, "application/x-ndjson");
                var started = Stopwatch.GetTimestamp();
                using var response = await forge.Client.PostAsync($"/api/ingestion/datasets/{datasets[i]}/stream", content, CancellationToken.None);
                ingestLatencies.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
                var text = await response.Content.ReadAsStringAsync(CancellationToken.None);
                if (response.StatusCode != HttpStatusCode.Accepted)
                    errors.Add($"stream {i}: {response.StatusCode} {text}");
                else
                    Interlocked.Add(ref accepted[i], JsonDocument.Parse(text).RootElement.GetProperty("documents").GetInt64());
            }
        })).ToList();
        var chats = Enumerable.Range(0, ChatClients).Select(i => Task.Run(async () =>
        {
            for (var turn = 0; !stop.IsCancellationRequested; turn++)
            {
                var started = Stopwatch.GetTimestamp();
                using var response = await forge.Client.PostAsJsonAsync("/api/inference/chat", new
                {
                    model = LoadForge.Model,
                    messages = new[] { new { role = "user", content = $"tell me about the data {i} {turn}" } },
                    maxTokens = 16,
                    seed = turn,
                }, CancellationToken.None);
                chatLatencies.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
                if (response.StatusCode != HttpStatusCode.OK)
                    errors.Add($"chat {i}: {response.StatusCode} {await response.Content.ReadAsStringAsync(CancellationToken.None)}");
            }
        })).ToList();
        await Task.WhenAll(streams.Concat(chats));
        var elapsed = watch.Elapsed;

        var recorded = new long[Streams];
        for (var i = 0; i < Streams; i++)
            recorded[i] = (await forge.Client.GetFromJsonAsync<JsonElement>($"/api/ingestion/datasets/{datasets[i]}")).GetProperty("totals").GetProperty("documents").GetInt64();
        var documents = accepted.Sum();
        output.WriteLine($"{elapsed.TotalSeconds:0.0}s, {Streams} streams of {DocumentsPerRequest} documents per request, {ChatClients} chat clients (16 tokens)");
        output.WriteLine($"ingestion: {ingestLatencies.Count} requests, {documents} documents, {documents / elapsed.TotalSeconds:0} documents/s, {Describe(ingestLatencies)}");
        output.WriteLine($"chat: {chatLatencies.Count} requests, {chatLatencies.Count / elapsed.TotalSeconds:0.0}/s, {Describe(chatLatencies)}");
        output.WriteLine($"errors: {errors.Count}");
        Assert.Empty(errors);
        Assert.Equal(accepted, recorded);
        Assert.True(!chatLatencies.IsEmpty && documents > 0);
    }

    private static string Describe(IEnumerable<double> latencies)
    {
        var sorted = latencies.Order().ToArray();
        double At(double q) => sorted.Length == 0 ? double.NaN : sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(q * sorted.Length) - 1)];
        return $"p50 {At(0.50):0} ms, p95 {At(0.95):0} ms, p99 {At(0.99):0} ms, max {sorted.LastOrDefault():0} ms";
    }
}
