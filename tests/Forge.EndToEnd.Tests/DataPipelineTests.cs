using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Forge.Testing;

namespace Forge.EndToEnd.Tests;

/// <summary>
/// The data pipeline through the gateway, with Ingestion and Cleaning as separate processes on the real RabbitMQ:
/// 100,000 documents streamed as NDJSON, with malformed lines and planted duplicates, all accounted for.
/// </summary>
[Collection(DistributedCollection.Name)]
public sealed class DataPipelineTests(DistributedForge forge)
{
    private const int Documents = 100_000;
    private const int ExactCopies = 500;
    private const int NearCopies = 300;
    private static readonly long[] MalformedLines = [17, 4_000, 25_001, 50_000, 77_777, 99_990];

    [SkippableFact]
    public async Task AHundredThousandStreamedDocumentsAreAllCleanedOrAccountedForByReason()
    {
        Skip.If(forge.SkipReason is not null, forge.SkipReason);
        var datasetId = SliceScenarios.NewDatasetId();
        using (var created = await forge.Gateway.PostAsJsonAsync("/api/ingestion/datasets", new { id = datasetId }))
            Assert.Equal(HttpStatusCode.Created, created.StatusCode);

        var watch = Stopwatch.StartNew();
        using var content = new StreamContent(new GeneratedStream(BuildLines().Select(Encoding.UTF8.GetBytes)));
        content.Headers.ContentType = new("application/x-ndjson");
        using var response = await forge.Gateway.PostAsync($"/api/ingestion/datasets/{datasetId}/stream?source=generated", content);
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.Accepted, body);
        var receipt = JsonDocument.Parse(body).RootElement;
        Assert.Equal(Documents, receipt.GetProperty("documents").GetInt64());
        Assert.Equal(MalformedLines.Length, receipt.GetProperty("badLines").GetInt64());
        Assert.Equal(MalformedLines, receipt.GetProperty("errors").EnumerateArray().Select(e => e.GetProperty("line").GetInt64()));
        var batches = receipt.GetProperty("batches").GetArrayLength();
        Assert.True(batches >= 2, "a stream this long is committed in several batches");

        var dataset = await Eventually.WaitAsync(
            () => forge.Gateway.GetFromJsonAsync<JsonElement>($"/api/ingestion/datasets/{datasetId}"),
            d => d.GetProperty("totals").GetProperty("cleanedBatches").GetInt32() == batches,
            TimeSpan.FromMinutes(3), "every batch to be cleaned");
        var report = await forge.Gateway.GetFromJsonAsync<JsonElement>($"/api/cleaning/datasets/{datasetId}/report");
        var elapsed = watch.Elapsed;

        var documentsIn = report.GetProperty("documentsIn").GetInt64();
        var documentsOut = report.GetProperty("documentsOut").GetInt64();
        var dropped = report.GetProperty("dropped").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetInt64());
        Assert.Equal(Documents, dataset.GetProperty("totals").GetProperty("documents").GetInt64());
        Assert.Equal(Documents, documentsIn);
        Assert.Equal(documentsIn, documentsOut + dropped.Values.Sum());
        Assert.Equal(ExactCopies, dropped["exact-duplicate"]);
        Assert.InRange(dropped.GetValueOrDefault("near-duplicate"), (long)(0.9 * NearCopies), NearCopies);
        Assert.Equal(documentsOut, dataset.GetProperty("totals").GetProperty("cleanedDocuments").GetInt64());
        Assert.True(elapsed < TimeSpan.FromMinutes(3), $"took {elapsed}");
    }

    [SkippableFact]
    public async Task RetryingAStreamWithTheSameKeyThroughTheGatewayStoresItOnce()
    {
        Skip.If(forge.SkipReason is not null, forge.SkipReason);
        var datasetId = SliceScenarios.NewDatasetId();
        await SliceScenarios.CreateDatasetAsync(forge.Gateway, datasetId);
        var generator = new CorpusGenerator(7);
        var stream = string.Concat(Enumerable.Range(0, 20).Select(_ => CorpusGenerator.Line(generator.Document(60))));

        var statuses = new List<HttpStatusCode>();
        for (var attempt = 0; attempt < 2; attempt++)
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, $"/api/ingestion/datasets/{datasetId}/stream")
            {
                Content = new StringContent(stream, Encoding.UTF8, "application/x-ndjson"),
            };
            request.Headers.Add("Idempotency-Key", "upload-42");
            using var response = await forge.Gateway.SendAsync(request);
            statuses.Add(response.StatusCode);
        }

        Assert.Equal([HttpStatusCode.Accepted, HttpStatusCode.OK], statuses);
        var dataset = await forge.Gateway.GetFromJsonAsync<JsonElement>($"/api/ingestion/datasets/{datasetId}");
        Assert.Equal(20, dataset.GetProperty("totals").GetProperty("documents").GetInt32());
    }

    /// <summary>The corpus, line by line: documents, with copies and malformed lines planted at fixed places.</summary>
    private static IEnumerable<string> BuildLines()
    {
        var generator = new CorpusGenerator(20261128);
        var originals = new List<string>();
        var random = new Random(99);
        var exactAt = Enumerable.Range(0, ExactCopies).Select(i => 1_000 + i * 190).ToHashSet();
        var nearAt = Enumerable.Range(0, NearCopies).Select(i => 1_050 + i * 310).ToHashSet();
        long line = 0;
        for (var document = 0; document < Documents; document++)
        {
            while (MalformedLines.Contains(line + 1))
            {
                line++;
                yield return line % 2 == 0 ? "{\"text\": \"cut off\n" : "{\"title\": \"no text here\"}\n";
            }
            line++;
            string text;
            if (exactAt.Contains(document))
                text = originals[random.Next(originals.Count)];
            else if (nearAt.Contains(document))
                text = generator.NearCopy(originals[random.Next(originals.Count)]);
            else
                originals.Add(text = generator.Document(random.Next(55, 90)));
            yield return CorpusGenerator.Line(text, $"doc-{document}");
        }
    }
}
