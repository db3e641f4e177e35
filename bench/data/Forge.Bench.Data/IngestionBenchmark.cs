using System.Diagnostics;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using Forge.Ingestion;
using Forge.ServiceDefaults;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;

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
        await using var app = builder.Build();
        app.MapDefaultEndpoints();
        app.MapIngestionApi();
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        using var client = new HttpClient { BaseAddress = new Uri(address), Timeout = TimeSpan.FromHours(1) };
        (await client.PostAsJsonAsync("/api/ingestion/datasets", new { id = "bench" })).EnsureSuccessStatusCode();
        var bytes = megabytes * 1_000_000;
        Console.WriteLine($"ingesting {megabytes} MB twice over {address}; processors: {Environment.ProcessorCount}");

        var baseline = Process.GetCurrentProcess().WorkingSet64;
        var ndjson = await TimeAsync(async () =>
        {
            using var content = new StreamContent(new GeneratedBody(bytes, json: true), 1 << 16);
            content.Headers.ContentType = new MediaTypeHeaderValue("application/x-ndjson");
            using var response = await client.PostAsync("/api/ingestion/datasets/bench/stream?source=bench-stream", content);
            response.EnsureSuccessStatusCode();
        });
        Report("NDJSON stream", bytes, ndjson, baseline);

        var upload = await TimeAsync(async () =>
        {
            using var file = new StreamContent(new GeneratedBody(bytes, json: false), 1 << 16);
            file.Headers.ContentType = new MediaTypeHeaderValue("text/plain");
            using var form = new MultipartFormDataContent { { file, "files", "corpus.txt" } };
            using var response = await client.PostAsync("/api/ingestion/datasets/bench/files", form);
            response.EnsureSuccessStatusCode();
        });
        Report(".txt upload", bytes, upload, baseline);

        await app.StopAsync();
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

    /// <summary>English-like text made as it is read: NDJSON documents of about 1 KB, or plain paragraphs.</summary>
    private sealed class GeneratedBody(long length, bool json) : Stream
    {
        private static readonly string[] Words = "the of and to in that have with be for river town bridge people history water summer winter market school letters photographs community morning evening".Split(' ');
        private readonly Random _random = new(7);
        private byte[] _pending = [];
        private int _offset;
        private long _produced;

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override int Read(byte[] buffer, int offset, int count)
        {
            var written = 0;
            while (written < count)
            {
                if (_offset == _pending.Length)
                {
                    if (_produced >= length)
                        break;
                    _pending = NextUnit();
                    _offset = 0;
                    _produced += _pending.Length;
                }
                var n = Math.Min(count - written, _pending.Length - _offset);
                Array.Copy(_pending, _offset, buffer, offset + written, n);
                _offset += n;
                written += n;
            }
            return written;
        }

        private byte[] NextUnit()
        {
            var text = new StringBuilder(1100);
            while (text.Length < 1000)
                text.Append(Words[_random.Next(Words.Length)]).Append(' ');
            return Encoding.UTF8.GetBytes(json ? $"{{\"text\":\"{text}\"}}\n" : $"{text}\n\n");
        }
    }
}
