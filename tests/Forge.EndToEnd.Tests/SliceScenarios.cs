using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Forge.Testing;

namespace Forge.EndToEnd.Tests;

/// <summary>The foundation slice, written once and run through the embedded host and through the gateway of the distributed system.</summary>
public static class SliceScenarios
{
    public static readonly TimeSpan CleaningDeadline = TimeSpan.FromSeconds(30);

    /// <summary>Creates a dataset; unless told otherwise, its cleaning skips the quality filters, which short test documents would fail.</summary>
    public static async Task CreateDatasetAsync(HttpClient client, string datasetId, object? cleaningSettings = null)
    {
        using var response = await client.PostAsJsonAsync("/api/ingestion/datasets", new { id = datasetId, description = "e2e" });
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        using var settings = await client.PutAsJsonAsync($"/api/cleaning/datasets/{datasetId}/settings", cleaningSettings ?? new { qualityFilters = false });
        Assert.Equal(HttpStatusCode.OK, settings.StatusCode);
    }

    /// <summary>Posts documents, then waits until the dataset shows the batch as cleaned, with counts.</summary>
    public static async Task PostedDocumentsEndCleanedAsync(HttpClient client)
    {
        var datasetId = NewDatasetId();
        await CreateDatasetAsync(client, datasetId);

        using var posted = await PostJsonAsync(client, $"/api/ingestion/datasets/{datasetId}/documents",
            """["  The   first document.  ", {"text": "Cafe\u0301 au lait\r\n\r\n\r\nis hot.", "id": "doc-2"}, " \t "]""");
        Assert.Equal(HttpStatusCode.Accepted, posted.StatusCode);
        var batchId = (await posted.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString();

        var dataset = await Eventually.WaitAsync(
            () => client.GetFromJsonAsync<JsonElement>($"/api/ingestion/datasets/{datasetId}"),
            d => d.GetProperty("batches")[0].GetProperty("status").GetString() == "Cleaned",
            CleaningDeadline, "the batch to be cleaned");

        var batch = dataset.GetProperty("batches")[0];
        Assert.Equal(batchId, batch.GetProperty("id").GetString());
        var totals = dataset.GetProperty("totals");
        Assert.Equal(1, totals.GetProperty("batches").GetInt32());
        Assert.Equal(3, totals.GetProperty("documents").GetInt32());
        Assert.Equal(1, totals.GetProperty("cleanedBatches").GetInt32());
        Assert.Equal(2, totals.GetProperty("cleanedDocuments").GetInt32());
        Assert.True(totals.GetProperty("cleanedBytes").GetInt64() > 0);

        var shards = await client.GetFromJsonAsync<JsonElement>($"/api/cleaning/datasets/{datasetId}/shards");
        var shard = Assert.Single(shards.EnumerateArray());
        Assert.Equal(3, shard.GetProperty("documentsIn").GetInt32());
        Assert.Equal(2, shard.GetProperty("documentsOut").GetInt32());
        Assert.Equal(1, shard.GetProperty("dropped").GetProperty("empty-after-normalisation").GetInt32());
    }

    /// <summary>Every kind of bad request gets a 4xx problem naming what is wrong, and nothing is stored.</summary>
    public static async Task<string> BadInputIsRefusedAndNothingIsStoredAsync(HttpClient client, long bodyLimit)
    {
        var datasetId = NewDatasetId();
        await CreateDatasetAsync(client, datasetId);
        var documents = $"/api/ingestion/datasets/{datasetId}/documents";

        await AssertProblemAsync(await PostJsonAsync(client, documents, ""), HttpStatusCode.BadRequest, "empty");
        await AssertProblemAsync(await PostJsonAsync(client, documents, "[\"one\",\n \"two\""), HttpStatusCode.BadRequest, "line 2");
        var notText = await AssertProblemAsync(await PostJsonAsync(client, documents, """["fine", {"text": 42}]"""), HttpStatusCode.UnprocessableEntity, "$[1].text");
        Assert.True(notText.GetProperty("errors").TryGetProperty("$[1].text", out _));
        await AssertProblemAsync(await PostJsonAsync(client, documents, """[1, 2]"""), HttpStatusCode.UnprocessableEntity, "$[0]");
        await AssertProblemAsync(await PostJsonAsync(client, documents, JsonSerializer.Serialize(new[] { new string('x', (int)bodyLimit + 10) })), HttpStatusCode.RequestEntityTooLarge, "");
        await AssertProblemAsync(await PostJsonAsync(client, $"/api/ingestion/datasets/no-such-dataset/documents", """["text"]"""), HttpStatusCode.NotFound, "no-such-dataset");
        await AssertProblemAsync(await client.GetAsync("/api/ingestion/datasets/no-such-dataset"), HttpStatusCode.NotFound, "no-such-dataset");
        using (var plain = new StringContent("just text", Encoding.UTF8, "text/plain"))
            await AssertProblemAsync(await client.PostAsync(documents, plain), HttpStatusCode.UnsupportedMediaType, "application/json");
        await AssertProblemAsync(await client.PostAsJsonAsync("/api/ingestion/datasets", new { id = "Not A Valid Id!" }), HttpStatusCode.UnprocessableEntity, "id");
        await AssertProblemAsync(await client.PostAsJsonAsync("/api/ingestion/datasets", new { id = datasetId }), HttpStatusCode.Conflict, datasetId);

        var dataset = await client.GetFromJsonAsync<JsonElement>($"/api/ingestion/datasets/{datasetId}");
        Assert.Equal(0, dataset.GetProperty("totals").GetProperty("batches").GetInt32());
        Assert.Empty(dataset.GetProperty("batches").EnumerateArray());
        return datasetId;
    }

    /// <summary>Retrying a batch with the same Idempotency-Key stores it once.</summary>
    public static async Task RetryingWithTheSameKeyStoresOnceAsync(HttpClient client)
    {
        var datasetId = NewDatasetId();
        await CreateDatasetAsync(client, datasetId);
        var path = $"/api/ingestion/datasets/{datasetId}/documents";

        using var first = await PostJsonAsync(client, path, """["retry me"]""", idempotencyKey: "batch-0001");
        using var second = await PostJsonAsync(client, path, """["retry me"]""", idempotencyKey: "batch-0001");

        Assert.Equal(HttpStatusCode.Accepted, first.StatusCode);
        Assert.Equal(HttpStatusCode.OK, second.StatusCode);
        var firstId = (await first.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString();
        var secondId = (await second.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString();
        Assert.Equal(firstId, secondId);
        var dataset = await Eventually.WaitAsync(
            () => client.GetFromJsonAsync<JsonElement>($"/api/ingestion/datasets/{datasetId}"),
            d => d.GetProperty("totals").GetProperty("cleanedBatches").GetInt32() == 1,
            CleaningDeadline, "the batch to be cleaned");
        Assert.Equal(1, dataset.GetProperty("totals").GetProperty("batches").GetInt32());
    }

    /// <summary>The health of every service and the status list answer on the public routes.</summary>
    public static async Task ServicesShowHealthyAsync(HttpClient client, IEnumerable<string> services)
    {
        foreach (var service in services)
        {
            using var live = await client.GetAsync($"/health/{service}/live");
            Assert.Equal(HttpStatusCode.OK, live.StatusCode);
            var ready = await client.GetFromJsonAsync<JsonElement>($"/health/{service}/ready");
            Assert.Equal("Healthy", ready.GetProperty("status").GetString());
            Assert.Equal("Healthy", ready.GetProperty("checks").GetProperty("masstransit-bus").GetProperty("status").GetString());
            var info = await client.GetFromJsonAsync<JsonElement>($"/api/{service}");
            Assert.Equal(service, info.GetProperty("service").GetString());
        }
    }

    public static string NewDatasetId() => $"e2e-{Guid.NewGuid():N}"[..20];

    public static async Task<HttpResponseMessage> PostJsonAsync(HttpClient client, string path, string json, string? idempotencyKey = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new StringContent(json, Encoding.UTF8, "application/json") };
        if (idempotencyKey is not null)
            request.Headers.Add("Idempotency-Key", idempotencyKey);
        return await client.SendAsync(request);
    }

    private static async Task<JsonElement> AssertProblemAsync(HttpResponseMessage response, HttpStatusCode status, string mentioned)
    {
        using (response)
        {
            var body = await response.Content.ReadAsStringAsync();
            Assert.True(status == response.StatusCode, $"expected {(int)status}, got {(int)response.StatusCode}: {body}");
            Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
            var problem = JsonDocument.Parse(body).RootElement.Clone();
            Assert.Equal((int)status, problem.GetProperty("status").GetInt32());
            Assert.Contains(mentioned, problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
            return problem;
        }
    }
}
