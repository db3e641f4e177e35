using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Forge.Storage.Artifacts;
using Forge.Testing;

namespace Forge.EndToEnd.Tests;

/// <summary>An S3 endpoint of the test's own (moto_server on a free loopback port), which it may stop and start again.</summary>
public sealed class OwnS3Endpoint : IAsyncDisposable
{
    private Process? _process;

    public int Port { get; } = TestServers.FreePort();
    public string Endpoint => $"127.0.0.1:{Port}";

    public static bool Available => (Environment.GetEnvironmentVariable("PATH") ?? "")
        .Split(Path.PathSeparator).Any(folder => File.Exists(Path.Combine(folder, "moto_server")));

    public async Task StartAsync()
    {
        var start = new ProcessStartInfo("moto_server", ["-H", "127.0.0.1", "-p", Port.ToString(System.Globalization.CultureInfo.InvariantCulture)])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        _process = Process.Start(start) ?? throw new InvalidOperationException("moto_server did not start");
        _process.OutputDataReceived += (_, _) => { };
        _process.ErrorDataReceived += (_, _) => { };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
        using var client = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        var watch = Stopwatch.StartNew();
        while (watch.Elapsed < TimeSpan.FromSeconds(30))
        {
            try
            {
                using var response = await client.GetAsync(new Uri($"http://{Endpoint}/"));
                return;
            }
            catch (HttpRequestException)
            {
            }
            catch (TaskCanceledException)
            {
            }
            await Task.Delay(200);
        }
        throw new TimeoutException($"moto_server did not answer on {Endpoint} in 30 s");
    }

    /// <summary>Kills the endpoint (moto keeps everything in memory: what it held is gone, as after losing a disk).</summary>
    public async Task StopAsync()
    {
        if (_process is null)
            return;
        _process.Kill(entireProcessTree: true);
        await _process.WaitForExitAsync();
        _process.Dispose();
        _process = null;
    }

    public async ValueTask DisposeAsync() => await StopAsync();
}

/// <summary>The embedded host with its artifacts in an S3 endpoint of its own, so a test can take storage away from it alone.</summary>
public sealed class OwnS3EmbeddedForge : EmbeddedForge
{
    public const string Bucket = "forge-own";

    public OwnS3Endpoint S3 { get; } = new();

    protected override IReadOnlyDictionary<string, string?> Settings => new Dictionary<string, string?>
    {
        ["Forge:Artifacts"] = "s3",
        ["Forge:S3:Endpoint"] = S3.Endpoint,
        ["Forge:S3:Bucket"] = Bucket,
        ["Forge:S3:AccessKey"] = "test",
        ["Forge:S3:SecretKey"] = "test",
    };

    public override async Task InitializeAsync()
    {
        if (!OwnS3Endpoint.Available)
            return;
        await S3.StartAsync();
        await base.InitializeAsync();
    }

    public override async Task DisposeAsync()
    {
        if (OwnS3Endpoint.Available)
            await base.DisposeAsync();
        await S3.DisposeAsync();
    }

    /// <summary>Starts the endpoint again with the bucket in place, as a storage service coming back after an outage would be.</summary>
    public async Task RestoreStorageAsync()
    {
        await S3.StartAsync();
        using var store = new S3ArtifactStore(new S3Options { Endpoint = S3.Endpoint, Bucket = Bucket, AccessKey = "test", SecretKey = "test" });
        await store.PutBytesAsync("probe", new byte[] { 1 });
    }
}

/// <summary>The artifact store goes away during ingestion: the client is told, nothing half-stored is recorded, and a retry succeeds.</summary>
public sealed class ReliabilityStorageTests(OwnS3EmbeddedForge forge) : IClassFixture<OwnS3EmbeddedForge>
{
    [SkippableFact]
    public async Task ABatchRefusedWhileStorageIsDownIsNotRecordedAndItsRetrySucceedsOnceStorageIsBack()
    {
        Skip.IfNot(OwnS3Endpoint.Available, "moto_server is not installed (pip install 'moto[server]')");
        var client = forge.Client;
        var datasetId = SliceScenarios.NewDatasetId();
        await SliceScenarios.CreateDatasetAsync(client, datasetId);
        const string documents = """["stored before the outage"]""";
        using (var before = await SliceScenarios.PostJsonAsync(client, $"/api/ingestion/datasets/{datasetId}/documents", documents, "before"))
            Assert.Equal(HttpStatusCode.Accepted, before.StatusCode);

        await forge.S3.StopAsync();
        var watch = Stopwatch.StartNew();
        using (var during = await SliceScenarios.PostJsonAsync(client, $"/api/ingestion/datasets/{datasetId}/documents", """["sent while storage is down"]""", "during"))
        {
            var body = await during.Content.ReadAsStringAsync();
            Assert.True(during.StatusCode == HttpStatusCode.ServiceUnavailable, $"{during.StatusCode}: {body}");
            Assert.Equal("application/problem+json", during.Content.Headers.ContentType?.MediaType);
            Assert.Contains("artifact store", body, StringComparison.OrdinalIgnoreCase);
            Assert.NotNull(during.Headers.RetryAfter);
        }
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(30), $"the refusal took {watch.Elapsed}");
        var dataset = await client.GetFromJsonAsync<JsonElement>($"/api/ingestion/datasets/{datasetId}");
        Assert.Equal(1, dataset.GetProperty("totals").GetProperty("batches").GetInt32());
        Assert.Single(dataset.GetProperty("batches").EnumerateArray());

        await forge.RestoreStorageAsync();
        using (var retry = await SliceScenarios.PostJsonAsync(client, $"/api/ingestion/datasets/{datasetId}/documents", """["sent while storage is down"]""", "during"))
            Assert.Equal(HttpStatusCode.Accepted, retry.StatusCode);
        using (var again = await SliceScenarios.PostJsonAsync(client, $"/api/ingestion/datasets/{datasetId}/documents", """["sent while storage is down"]""", "during"))
            Assert.Equal(HttpStatusCode.OK, again.StatusCode);
        dataset = await client.GetFromJsonAsync<JsonElement>($"/api/ingestion/datasets/{datasetId}");
        Assert.Equal(2, dataset.GetProperty("totals").GetProperty("batches").GetInt32());
        Assert.Equal(2, dataset.GetProperty("totals").GetProperty("documents").GetInt32());
    }
}
