using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Forge.Contracts;
using Forge.ServiceDefaults;
using Forge.Storage.Artifacts;
using Forge.Testing;
using MassTransit;
using Microsoft.Extensions.DependencyInjection;

namespace Forge.EndToEnd.Tests;

/// <summary>The slice in the embedded mode: every service in one process, in-memory bus, LiteDB, local folder, real HTTP.</summary>
public sealed class EmbeddedSliceTests(EmbeddedForge forge) : IClassFixture<EmbeddedForge>
{
    [Fact]
    public Task PostedDocumentsEndCleanedWithCounts() => SliceScenarios.PostedDocumentsEndCleanedAsync(forge.Client);

    [Fact]
    public async Task BadInputGetsProblemDetailsAndNothingIsHalfStored()
    {
        var datasetId = await SliceScenarios.BadInputIsRefusedAndNothingIsStoredAsync(forge.Client, EmbeddedForge.BodyLimit);

        var artifacts = forge.App.Services.GetRequiredService<IArtifactStore>();
        Assert.Empty(await artifacts.ListAsync($"datasets/{datasetId}/").ToListAsync());
    }

    [Fact]
    public Task RetryingABatchWithTheSameIdempotencyKeyStoresItOnce() => SliceScenarios.RetryingWithTheSameKeyStoresOnceAsync(forge.Client);

    [Fact]
    public async Task EveryServiceAnswersHealthAndShowsInTheStatus()
    {
        await SliceScenarios.ServicesShowHealthyAsync(forge.Client, ForgeServices.All);

        var status = await forge.Client.GetFromJsonAsync<JsonElement>("/api/status");
        Assert.Equal(ForgeServices.All.Order(), status.EnumerateArray().Select(s => s.GetProperty("service").GetString()!).Order());
        Assert.All(status.EnumerateArray(), s => Assert.Equal("Healthy", s.GetProperty("health").GetString()));
    }

    [Fact]
    public async Task TheTrainerReportsTheDeviceItTrainsOn()
    {
        var device = await forge.Client.GetFromJsonAsync<JsonElement>("/api/trainer/device");

        Assert.Equal(device.GetProperty("cudaAvailable").GetBoolean() ? "cuda" : "cpu", device.GetProperty("device").GetString());
        Assert.True(device.GetProperty("threads").GetInt32() >= 1);
    }

    [Fact]
    public async Task RedeliveringDocumentsIngestedLeavesOneCleanShard()
    {
        var artifacts = forge.App.Services.GetRequiredService<IArtifactStore>();
        var bus = forge.App.Services.GetRequiredService<IBus>();
        var datasetId = SliceScenarios.NewDatasetId();
        await SliceScenarios.CreateDatasetAsync(forge.Client, datasetId);
        var rawKey = $"datasets/{datasetId}/raw/redelivered.jsonl";
        var raw = Encoding.UTF8.GetBytes("{\"text\":\"one document\"}\n{\"text\":\"another document\"}\n");
        await artifacts.PutBytesAsync(rawKey, raw);
        var consumed = new ConsumeCounter();
        using var _ = bus.ConnectConsumeObserver(consumed);
        var message = new DocumentsIngested(datasetId, "redelivered", $"{datasetId}:test", rawKey, 2, raw.Length, DateTime.UtcNow);

        await bus.Publish(message);
        await bus.Publish(message);
        await Eventually.WaitAsync(() => Task.FromResult(consumed.Count), count => count >= 2, TimeSpan.FromSeconds(30), "both deliveries to be consumed");

        Assert.Single(await artifacts.ListAsync($"datasets/{datasetId}/clean/").ToListAsync());
        var shards = await forge.Client.GetFromJsonAsync<JsonElement>($"/api/cleaning/datasets/{datasetId}/shards");
        Assert.Equal(2, Assert.Single(shards.EnumerateArray()).GetProperty("documentsOut").GetInt32());
    }

    /// <summary>Counts DocumentsIngested deliveries that consumers finished handling.</summary>
    private sealed class ConsumeCounter : IConsumeObserver
    {
        private int _count;
        public int Count => Volatile.Read(ref _count);

        public Task PreConsume<T>(ConsumeContext<T> context) where T : class => Task.CompletedTask;

        public Task PostConsume<T>(ConsumeContext<T> context) where T : class
        {
            if (context.Message is DocumentsIngested)
                Interlocked.Increment(ref _count);
            return Task.CompletedTask;
        }

        public Task ConsumeFault<T>(ConsumeContext<T> context, Exception exception) where T : class => Task.CompletedTask;
    }
}
