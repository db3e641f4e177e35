using System.Diagnostics;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using Forge.Ingestion;
using Forge.ServiceDefaults;
using Forge.Testing;
using Microsoft.AspNetCore.Builder;

namespace Forge.Bench.Data;

/// <summary>
/// Ingestion over HTTP on loopback into the filesystem artifact store and the embedded metadata store: the
/// ingestion service alone (cleaning would compete for the same two cores), a client that generates its body as it
/// sends it, an NDJSON stream and a .txt upload of the given size. The process's peak working set is read after
/// each, so the upload figure is the memory ceiling while a file of that size went through.
/// </summary>
public static class IngestionBenchmark
{
    public static async Task<int> RunAsync(long megabytes)
    {
        var folder = Path.Combine(Path.GetTempPath(), $"forge-bench-ingest-{Guid.NewGuid():N}");
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = [] });
        builder.Configuration["Urls"] = "http://127.0.0.1:0";
        builder.Configuration["Forge:DataPath"] = folder;
        builder.Configuration["Serilog:MinimumLevel:Default"] = "Warning";
        builder.AddServiceDefaults();
        builder.AddIngestion();
        builder.AddForgeBus();
        var app = builder.Build();
        app.MapDefaultEndpoints();
        app.MapIngestionApi();
        await using var host = await LoopbackApp.StartAsync(app, TimeSpan.FromHours(1));
        var client = host.Client;
        var address = client.BaseAddress;
        (await client.PostAsJsonAsync("/api/ingestion/datasets", new { id = "bench" })).EnsureSuccessStatusCode();
        var bytes = megabytes * 1_000_000;
        Console.WriteLine($"ingesting {megabytes} MB twice over {address}; processors: {Environment.ProcessorCount}");

        var baseline = Process.GetCurrentProcess().WorkingSet64;
        var ndjson = await TimeAsync(async () =>
        {
            using var content = new StreamContent(GeneratedBody(bytes, json: true), 1 << 16);
            content.Headers.ContentType = new MediaTypeHeaderValue("application/x-ndjson");
            using var response = await client.PostAsync("/api/ingestion/datasets/bench/stream?source=bench-stream", content);
            response.EnsureSuccessStatusCode();
        });
        Report("NDJSON stream", bytes, ndjson, baseline);

        var upload = await TimeAsync(async () =>
        {
            using var file = new StreamContent(GeneratedBody(bytes, json: false), 1 << 16);
            file.Headers.ContentType = new MediaTypeHeaderValue("text/plain");
            using var form = new MultipartFormDataContent { { file, "files", "corpus.txt" } };
            using var response = await client.PostAsync("/api/ingestion/datasets/bench/files", form);
            response.EnsureSuccessStatusCode();
        });
        Report(".txt upload", bytes, upload, baseline);

        await host.DisposeAsync();
        Directory.Delete(folder, recursive: true);
        return 0;
    }

    private static async Task<TimeSpan> TimeAsync(Func<Task> action)
    {
        var watch = Stopwatch.StartNew();
        await action();
        return watch.Elapsed;
    }

    private static void Report(string what, long bytes, TimeSpan elapsed, long baselineWorkingSet)
    {
        var process = Process.GetCurrentProcess();
        Console.WriteLine($"{what}: {bytes / 1e6:F0} MB in {elapsed.TotalSeconds:F2} s = {bytes / 1e6 / elapsed.TotalSeconds:F1} MB/s; " +
            $"peak working set {process.PeakWorkingSet64 / 1e6:F0} MB (at start {baselineWorkingSet / 1e6:F0} MB), managed heap now {GC.GetTotalMemory(false) / 1e6:F0} MB");
    }

    private static readonly string[] Words = "the of and to in that have with be for river town bridge people history water summer winter market school letters photographs community morning evening".Split(' ');

    /// <summary>English-like text made as it is sent: NDJSON documents of about 1 KB, or plain paragraphs, up to <paramref name="length"/> bytes.</summary>
    private static GeneratedStream GeneratedBody(long length, bool json)
    {
        return new GeneratedStream(Units());

        IEnumerable<byte[]> Units()
        {
            var random = new Random(7);
            long produced = 0;
            while (produced < length)
            {
                var text = new StringBuilder(1100);
                while (text.Length < 1000)
                    text.Append(Words[random.Next(Words.Length)]).Append(' ');
                var unit = Encoding.UTF8.GetBytes(json ? $"{{\"text\":\"{text}\"}}\n" : $"{text}\n\n");
                produced += unit.Length;
                yield return unit;
            }
        }
    }
}
