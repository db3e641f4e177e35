using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Forge.Ingestion;
using Forge.ServiceDefaults;
using Forge.Storage;
using Forge.Storage.Artifacts;
using Forge.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace Forge.Services.Tests;

/// <summary>
/// The ingestion service's artifact store runs out of disk: the write fails as the operating system fails it (ENOSPC,
/// from writing to /dev/full), the client gets a 507 with Retry-After, nothing is recorded, and the same request
/// retried once space is back stores once.
/// </summary>
public sealed class DiskFullTests : IAsyncLifetime
{
    private readonly TemporaryFolder _data = new("disk-full");
    private FillableArtifactStore _artifacts = null!;
    private WebApplication? _app;
    private LoopbackApp? _host;

    public async Task InitializeAsync()
    {
        var builder = LoopbackApp.CreateBuilder(_data.Path);
        builder.AddServiceDefaults();
        builder.AddIngestion();
        builder.AddForgeBus(bus => bus.AddIngestionConsumers());
        _artifacts = new FillableArtifactStore(new FileSystemArtifactStore(Path.Combine(_data.Path, "artifacts")));
        builder.Services.AddSingleton<IArtifactStore>(_artifacts);
        _app = builder.Build();
        _app.MapDefaultEndpoints();
        _app.MapIngestionApi();
        _host = await LoopbackApp.StartAsync(_app);
    }

    [Fact]
    public void WritingToAFullDeviceIsRecognisedAsADiskFull()
    {
        var error = Assert.ThrowsAny<IOException>(() => FillableArtifactStore.WriteToFullDevice(new MemoryStream(new byte[100_000])));

        Assert.True(DiskFull.IsDiskFull(error), $"{error.GetType().Name} HResult {error.HResult}: {error.Message}");
        Assert.False(DiskFull.IsDiskFull(new IOException("Broken pipe", 32)));
        Assert.True(DiskFull.IsDiskFull(new InvalidOperationException("store failed", error)));
    }

    [Fact]
    public async Task ABatchRefusedForAFullDiskIsNotRecordedAndItsRetryStoresOnceSpaceIsBack()
    {
        var client = _host!.Client;
        using (var created = await client.PostAsJsonAsync("/api/ingestion/datasets", new { id = "full-disk", description = "disk full" }))
            Assert.Equal(HttpStatusCode.Created, created.StatusCode);

        _artifacts.Full = true;
        using (var refused = await PostAsync(client, """["written while the disk is full"]"""))
        {
            var body = await refused.Content.ReadAsStringAsync();
            Assert.True(refused.StatusCode == HttpStatusCode.InsufficientStorage, $"{refused.StatusCode}: {body}");
            Assert.Equal("application/problem+json", refused.Content.Headers.ContentType?.MediaType);
            Assert.Contains("disk is full", body);
            Assert.NotNull(refused.Headers.RetryAfter);
        }
        var dataset = await client.GetFromJsonAsync<JsonElement>("/api/ingestion/datasets/full-disk");
        Assert.Equal(0, dataset.GetProperty("totals").GetProperty("batches").GetInt32());
        Assert.Empty(Directory.EnumerateFiles(Path.Combine(_data.Path, "artifacts"), "*", SearchOption.AllDirectories));

        _artifacts.Full = false;
        using (var stored = await PostAsync(client, """["written while the disk is full"]"""))
            Assert.Equal(HttpStatusCode.Accepted, stored.StatusCode);
        using (var repeated = await PostAsync(client, """["written while the disk is full"]"""))
            Assert.Equal(HttpStatusCode.OK, repeated.StatusCode);
        dataset = await client.GetFromJsonAsync<JsonElement>("/api/ingestion/datasets/full-disk");
        Assert.Equal(1, dataset.GetProperty("totals").GetProperty("batches").GetInt32());
    }

    private static async Task<HttpResponseMessage> PostAsync(HttpClient client, string json)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/ingestion/datasets/full-disk/documents") { Content = new StringContent(json, Encoding.UTF8, "application/json") };
        request.Headers.Add("Idempotency-Key", "the-one-batch");
        return await client.SendAsync(request);
    }

    public async Task DisposeAsync()
    {
        if (_host is not null)
            await _host.DisposeAsync();
        _data.Dispose();
    }
}

/// <summary>A file-system artifact store whose disk can be made full: while <see cref="Full"/>, every write goes to /dev/full.</summary>
public sealed class FillableArtifactStore(FileSystemArtifactStore inner) : IArtifactStore
{
    private volatile bool _full;

    public bool Full
    {
        get => _full;
        set => _full = value;
    }

    /// <summary>Copies <paramref name="content"/> to Linux's /dev/full, which fails every write with ENOSPC.</summary>
    public static void WriteToFullDevice(Stream content)
    {
        using var device = new FileStream("/dev/full", FileMode.Open, FileAccess.Write, FileShare.ReadWrite, bufferSize: 0);
        content.CopyTo(device);
    }

    public Task<ArtifactInfo> PutAsync(string key, Stream content, CancellationToken cancellationToken = default)
    {
        if (!Full)
            return inner.PutAsync(key, content, cancellationToken);
        WriteToFullDevice(content);
        throw new InvalidOperationException("/dev/full accepted a write");
    }

    public Task<Stream> OpenReadAsync(string key, CancellationToken cancellationToken = default) => inner.OpenReadAsync(key, cancellationToken);

    public Task<ArtifactInfo?> StatAsync(string key, CancellationToken cancellationToken = default) => inner.StatAsync(key, cancellationToken);

    public IAsyncEnumerable<ArtifactInfo> ListAsync(string prefix, CancellationToken cancellationToken = default) => inner.ListAsync(prefix, cancellationToken);

    public Task<bool> DeleteAsync(string key, CancellationToken cancellationToken = default) => inner.DeleteAsync(key, cancellationToken);

    public Task PingAsync(CancellationToken cancellationToken = default) => inner.PingAsync(cancellationToken);
}
