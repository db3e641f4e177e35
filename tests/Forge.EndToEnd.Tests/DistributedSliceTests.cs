using System.Net.Http.Json;
using System.Text.Json;

namespace Forge.EndToEnd.Tests;

/// <summary>The same slice through the gateway, with each service in its own process on the real RabbitMQ and S3.</summary>
[Collection(DistributedCollection.Name)]
public sealed class DistributedSliceTests(DistributedForge forge)
{
    [SkippableFact]
    public async Task PostedDocumentsEndCleanedWithCountsThroughTheGateway()
    {
        Skip.If(forge.SkipReason is not null, forge.SkipReason);

        await SliceScenarios.PostedDocumentsEndCleanedAsync(forge.Gateway);
    }

    [SkippableFact]
    public async Task BadInputGetsProblemDetailsThroughTheGatewayAndNothingIsHalfStored()
    {
        Skip.If(forge.SkipReason is not null, forge.SkipReason);

        var datasetId = await SliceScenarios.BadInputIsRefusedAndNothingIsStoredAsync(forge.Gateway, DistributedForge.BodyLimit);

        Assert.Empty(await forge.Artifacts.ListAsync($"datasets/{datasetId}/").ToListAsync());
    }

    [SkippableFact]
    public async Task RetryingABatchWithTheSameIdempotencyKeyStoresItOnce()
    {
        Skip.If(forge.SkipReason is not null, forge.SkipReason);

        await SliceScenarios.RetryingWithTheSameKeyStoresOnceAsync(forge.Gateway);
    }

    [SkippableFact]
    public async Task TheRunningServicesShowHealthyInTheGateway()
    {
        Skip.If(forge.SkipReason is not null, forge.SkipReason);

        await SliceScenarios.ServicesShowHealthyAsync(forge.Gateway, ["ingestion", "cleaning"]);

        var status = await forge.Gateway.GetFromJsonAsync<JsonElement>("/api/status");
        var services = status.EnumerateArray().ToDictionary(s => s.GetProperty("service").GetString()!, s => s.GetProperty("health").GetString());
        Assert.Equal(8, services.Count);
        Assert.NotEqual("Unhealthy", services["ingestion"]);
        Assert.NotEqual("Unhealthy", services["cleaning"]);
    }
}
