using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Forge.Testing;
using Xunit.Abstractions;

namespace Forge.EndToEnd.Tests;

/// <summary>
/// Tests that stop the shared RabbitMQ broker. Every test class of the run talks to that broker, so this collection
/// runs alone (xunit runs collections that disable parallelisation after the parallel ones, one at a time), with a
/// distributed system of its own.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class BrokerOutageCollection : ICollectionFixture<DistributedForge>
{
    public const string Name = "broker-outage";
}

/// <summary>RabbitMQ stopped and started again while documents stream in through the gateway.</summary>
[Collection(BrokerOutageCollection.Name)]
public sealed class ReliabilityBrokerTests(DistributedForge forge, ITestOutputHelper output)
{
    private static readonly TimeSpan Outage = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan HealthDeadline = TimeSpan.FromSeconds(60);

    [SkippableFact]
    public async Task EveryAcceptedDocumentIsCleanedAcrossABrokerRestartAndTheServicesReportTheOutage()
    {
        Skip.If(forge.SkipReason is not null, forge.SkipReason);
        var datasetId = SliceScenarios.NewDatasetId();
        await SliceScenarios.CreateDatasetAsync(forge.Gateway, datasetId);
        using var ingestion = new HttpClient { BaseAddress = forge.Service("ingestion").Address, Timeout = TimeSpan.FromSeconds(5) };
        await WaitForReadinessAsync(ingestion, HttpStatusCode.OK);

        using var stop = new CancellationTokenSource();
        var streaming = StreamUntilStoppedAsync(datasetId, stop.Token);
        var watch = Stopwatch.StartNew();
        try
        {
            await Task.Delay(TimeSpan.FromSeconds(3));
            await RabbitMqCtl.RunAsync("stop_app");
            var unhealthyAfter = await WaitForReadinessAsync(ingestion, HttpStatusCode.ServiceUnavailable);
            output.WriteLine($"ingestion unready {unhealthyAfter.TotalSeconds:0.0}s after the broker stopped");
            await Task.Delay(Outage);
            Assert.Equal(HttpStatusCode.ServiceUnavailable, (await ReadinessAsync(ingestion)).Status);
        }
        finally
        {
            // The broker is shared by every test of the run: it comes back whatever happened above.
            await RabbitMqCtl.RunAsync("start_app");
        }
        var healthyAfter = await WaitForReadinessAsync(ingestion, HttpStatusCode.OK);
        output.WriteLine($"ingestion ready again {healthyAfter.TotalSeconds:0.0}s after the broker started");
        using (var cleaning = new HttpClient { BaseAddress = forge.Service("cleaning").Address, Timeout = TimeSpan.FromSeconds(5) })
            await WaitForReadinessAsync(cleaning, HttpStatusCode.OK);
        await Task.Delay(TimeSpan.FromSeconds(3));
        await stop.CancelAsync();
        var (requests, documents, batches) = await streaming;
        output.WriteLine($"{requests} streams accepted: {documents} documents in {batches} batches over {watch.Elapsed.TotalSeconds:0}s");

        var dataset = await Eventually.WaitAsync(
            () => forge.Gateway.GetFromJsonAsync<JsonElement>($"/api/ingestion/datasets/{datasetId}"),
            d => d.GetProperty("totals").GetProperty("cleanedBatches").GetInt32() >= batches,
            TimeSpan.FromSeconds(90), "every accepted batch to be cleaned");
        var report = await forge.Gateway.GetFromJsonAsync<JsonElement>($"/api/cleaning/datasets/{datasetId}/report");
        Assert.Equal(batches, dataset.GetProperty("totals").GetProperty("batches").GetInt32());
        Assert.Equal(batches, dataset.GetProperty("totals").GetProperty("cleanedBatches").GetInt32());
        Assert.Equal(documents, dataset.GetProperty("totals").GetProperty("documents").GetInt64());
        Assert.Equal(documents, report.GetProperty("documentsIn").GetInt64());
        Assert.True(requests > 10, $"only {requests} streams were accepted");
    }

    /// <summary>
    /// Posts small NDJSON streams one after another until stopped. A stream the gateway does not accept (the broker
    /// is down, a time-out) is sent again with the same idempotency key, as a client that wants its data in would;
    /// each key's documents count once. Returns the accepted streams, documents and batches.
    /// </summary>
    private async Task<(int Requests, long Documents, int Batches)> StreamUntilStoppedAsync(string datasetId, CancellationToken stop)
    {
        var generator = new CorpusGenerator(1010);
        var (requests, documents, batches) = (0, 0L, 0);
        var failures = new List<string>();
        for (var key = 0; !stop.IsCancellationRequested; key++)
        {
            var body = string.Concat(Enumerable.Range(0, 10).Select(_ => CorpusGenerator.Line(generator.Document(40))));
            var accepted = false;
            for (var attempt = 0; !accepted && attempt < 60; attempt++)
            {
                using var request = new HttpRequestMessage(HttpMethod.Post, $"/api/ingestion/datasets/{datasetId}/stream")
                {
                    Content = new StringContent(body, Encoding.UTF8, "application/x-ndjson"),
                };
                request.Headers.Add("Idempotency-Key", $"outage-{key}");
                try
                {
                    using var response = await forge.Gateway.SendAsync(request, CancellationToken.None);
                    var text = await response.Content.ReadAsStringAsync(CancellationToken.None);
                    if (response.StatusCode is HttpStatusCode.Accepted or HttpStatusCode.OK)
                    {
                        var receipt = JsonDocument.Parse(text).RootElement;
                        requests++;
                        documents += receipt.GetProperty("documents").GetInt64();
                        batches += receipt.GetProperty("batches").GetArrayLength();
                        accepted = true;
                    }
                    else
                    {
                        failures.Add($"{response.StatusCode}: {text}");
                    }
                }
                catch (TaskCanceledException e)
                {
                    failures.Add($"time-out: {e.Message}");
                }
                if (!accepted)
                    await Task.Delay(500, CancellationToken.None);
            }
            Assert.True(accepted, $"stream outage-{key} never accepted: {string.Join("\n", failures.TakeLast(5))}");
            await Task.Delay(200, CancellationToken.None);
        }
        foreach (var failure in failures.Take(10))
            output.WriteLine($"refused, then sent again: {failure}");
        return (requests, documents, batches);
    }

    private static async Task<(HttpStatusCode Status, string Body)> ReadinessAsync(HttpClient service)
    {
        try
        {
            using var response = await service.GetAsync("/health/ready");
            return (response.StatusCode, await response.Content.ReadAsStringAsync());
        }
        catch (TaskCanceledException)
        {
            return (HttpStatusCode.GatewayTimeout, "no answer in time");
        }
    }

    private static async Task<TimeSpan> WaitForReadinessAsync(HttpClient service, HttpStatusCode expected)
    {
        var watch = Stopwatch.StartNew();
        var last = await ReadinessAsync(service);
        while (last.Status != expected)
        {
            if (watch.Elapsed > HealthDeadline)
                throw new TimeoutException($"{service.BaseAddress} /health/ready was not {expected} after {HealthDeadline.TotalSeconds:0}s; last: {last.Status} {last.Body}");
            await Task.Delay(250);
            last = await ReadinessAsync(service);
        }
        if (expected == HttpStatusCode.OK)
            Assert.Contains("\"status\":\"Healthy\"", last.Body);
        else
            Assert.Contains("masstransit-bus", last.Body);
        return watch.Elapsed;
    }
}
