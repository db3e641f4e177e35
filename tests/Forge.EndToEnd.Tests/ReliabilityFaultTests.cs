using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.RegularExpressions;
using Forge.Storage.Artifacts;
using Forge.Testing;

namespace Forge.EndToEnd.Tests;

/// <summary>
/// Consumer faults with the real cleaning process on RabbitMQ: a raw batch missing for a moment is retried and cleaned
/// (nothing in _error), one missing for good lands in _error and is listed with its reason by the cleaning API, and
/// other batches keep flowing. In the broker-outage collection: it reads queue depths from the shared broker.
/// </summary>
[Collection(BrokerOutageCollection.Name)]
public sealed partial class ReliabilityFaultTests(DistributedForge forge, Xunit.Abstractions.ITestOutputHelper output)
{
    [SkippableFact]
    public async Task ATransientFaultIsRetriedAndAPermanentOneIsDeadLetteredWithItsReasonWhileOthersFlow()
    {
        Skip.If(forge.SkipReason is not null, forge.SkipReason);
        var gateway = forge.Gateway;
        var datasetId = SliceScenarios.NewDatasetId();
        await SliceScenarios.CreateDatasetAsync(gateway, datasetId);

        // With cleaning stopped, both batches wait in its queue while their raw files are taken away.
        await forge.Service("cleaning").KillAsync();
        var transient = await PostBatchAsync(datasetId, "comes back in a moment");
        var permanent = await PostBatchAsync(datasetId, "gone for good");
        var transientBytes = await forge.Artifacts.ReadAllBytesAsync(transient.RawKey);
        await forge.Artifacts.DeleteAsync(transient.RawKey);
        await forge.Artifacts.DeleteAsync(permanent.RawKey);

        var cleaning = await forge.StartAgainAsync("cleaning");
        // The first attempts fail; the retry policy (5 retries over about ten seconds) outlasts the outage.
        await Task.Delay(TimeSpan.FromSeconds(1));
        await forge.Artifacts.PutBytesAsync(transient.RawKey, transientBytes);
        var flowing = await PostBatchAsync(datasetId, "posted after the faults");

        var dataset = await Eventually.WaitAsync(
            () => gateway.GetFromJsonAsync<JsonElement>($"/api/ingestion/datasets/{datasetId}"),
            d => d.GetProperty("totals").GetProperty("cleanedBatches").GetInt32() == 2,
            TimeSpan.FromSeconds(60), "the transient and the later batch to be cleaned");
        var cleaned = dataset.GetProperty("batches").EnumerateArray().Where(b => b.GetProperty("status").GetString() == "Cleaned").Select(b => b.GetProperty("id").GetString());
        Assert.Equal([transient.Id, flowing.Id], cleaned.Order());

        var failures = await Eventually.WaitAsync(
            () => gateway.GetFromJsonAsync<JsonElement>($"/api/cleaning/datasets/{datasetId}/failures"),
            f => f.GetArrayLength() > 0, TimeSpan.FromSeconds(60), "the permanent failure to be listed");
        var failure = Assert.Single(failures.EnumerateArray());
        Assert.Equal(permanent.Id, failure.GetProperty("id").GetString());
        Assert.Contains(permanent.RawKey, failure.GetProperty("reason").GetString());
        Assert.Contains("does not exist", failure.GetProperty("reason").GetString());

        // Only the permanent fault reached the error queue: one message there, for the one batch.
        var queue = FaultedQueue().Match(cleaning.Output) is { Success: true } match ? match.Groups["queue"].Value : throw new Xunit.Sdk.XunitException($"no R-FAULT in the cleaning log:\n{cleaning.Output}");
        Assert.Equal(1, await MessagesInAsync($"{queue}_error"));
        // A test run's queues, error queues included, expire once unused (Forge:RabbitMq:QueueExpiry), so runs
        // do not pile queues up in the shared broker.
        var arguments = await RabbitMqCtl.ListQueuesAsync("arguments");
        Assert.Contains("x-expires", arguments[queue][0]);
        Assert.Contains("x-expires", arguments[$"{queue}_error"][0]);
        Assert.Equal(1, Regex.Count(cleaning.Output, "R-FAULT"));
        // The transient batch did fail first: its missing raw file is in the cleaning log's retries.
        output.WriteLine(string.Join("\n", cleaning.Output.Split('\n').Where(l => l.Contains(transient.RawKey, StringComparison.Ordinal)).Take(5)));
        Assert.Contains($"Artifact '{transient.RawKey}' does not exist", cleaning.Output);
    }

    private sealed record PostedBatch(string Id, string RawKey);

    private async Task<PostedBatch> PostBatchAsync(string datasetId, string text)
    {
        using var posted = await SliceScenarios.PostJsonAsync(forge.Gateway, $"/api/ingestion/datasets/{datasetId}/documents", JsonSerializer.Serialize(new[] { text }));
        Assert.Equal(HttpStatusCode.Accepted, posted.StatusCode);
        var batchId = (await posted.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString()!;
        var batch = await forge.Gateway.GetFromJsonAsync<JsonElement>($"/api/ingestion/datasets/{datasetId}/batches/{batchId}");
        return new PostedBatch(batchId, batch.GetProperty("rawKey").GetString()!);
    }

    private static async Task<long> MessagesInAsync(string queue)
    {
        // The broker counts a dead-lettered message a moment after the consumer logs it.
        for (var attempt = 0; ; attempt++)
        {
            var queues = await RabbitMqCtl.ListQueuesAsync("messages");
            if (queues.TryGetValue(queue, out var row) && (long.Parse(row[0], CultureInfo.InvariantCulture) > 0 || attempt >= 10))
                return long.Parse(row[0], CultureInfo.InvariantCulture);
            await Task.Delay(500);
        }
    }

    [GeneratedRegex(@"R-FAULT rabbitmq://[^/]+/(?<queue>[A-Za-z0-9._-]+clean-ingested-documents)\b")]
    private static partial Regex FaultedQueue();
}
