using System.IO.Compression;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Forge.Storage.Artifacts;
using Forge.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace Forge.EndToEnd.Tests;

/// <summary>Uploads, strict streams, sources, versions and lineage in the embedded mode, over real HTTP.</summary>
public sealed class EmbeddedDataPipelineTests(EmbeddedForge forge) : IClassFixture<EmbeddedForge>
{
    private readonly CorpusGenerator _generator = new(11);

    [Fact]
    public async Task UploadedFilesOfEveryKindBecomeCleanDocumentsAndBadFilesAreNamed()
    {
        var datasetId = SliceScenarios.NewDatasetId();
        await SliceScenarios.CreateDatasetAsync(forge.Client, datasetId);
        using var form = new MultipartFormDataContent
        {
            File("notes.txt", Encoding.UTF8.GetBytes(_generator.Document(80) + "\n\n" + _generator.Document(70))),
            File("guide.md.gz", Gzip("# Guide\n\n" + _generator.Document(60))),
            File("page.html", Encoding.UTF8.GetBytes($"<html><body><nav>Home | About</nav><article><p>{_generator.Document(90)}</p></article><footer>(c) 2026</footer></body></html>")),
            File("lines.jsonl", Encoding.UTF8.GetBytes(CorpusGenerator.Line(_generator.Document(50)) + "not json\n" + CorpusGenerator.Line(_generator.Document(50)))),
            File("picture.png", [0x89, 0x50, 0x4e, 0x47]),
        };

        using var response = await forge.Client.PostAsync($"/api/ingestion/datasets/{datasetId}/files", form);
        var receipt = await response.Content.ReadFromJsonAsync<JsonElement>();

        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        Assert.Equal(5, receipt.GetProperty("documents").GetInt64());
        Assert.Equal(4, receipt.GetProperty("sources").GetArrayLength());
        var errors = receipt.GetProperty("errors").EnumerateArray().ToList();
        Assert.Contains(errors, e => e.GetProperty("file").GetString() == "picture.png");
        Assert.Contains(errors, e => e.GetProperty("file").GetString() == "lines.jsonl" && e.GetProperty("line").GetInt64() == 2);
        var dataset = await WaitUntilCleanedAsync(datasetId, receipt.GetProperty("batches").GetArrayLength());
        Assert.Equal(5, dataset.GetProperty("totals").GetProperty("cleanedDocuments").GetInt32());
        var artifacts = forge.App.Services.GetRequiredService<IArtifactStore>();
        Assert.Equal(4, (await artifacts.ListAsync($"datasets/{datasetId}/uploads/").ToListAsync()).Count);
    }

    [Fact]
    public async Task PostedPlainTextBecomesADocumentOfItsSource()
    {
        var datasetId = SliceScenarios.NewDatasetId();
        await SliceScenarios.CreateDatasetAsync(forge.Client, datasetId);

        using var response = await forge.Client.PostAsync($"/api/ingestion/datasets/{datasetId}/text?source=notes", new StringContent(_generator.Document(60), Encoding.UTF8, "text/plain"));
        var receipt = await response.Content.ReadFromJsonAsync<JsonElement>();
        using var wrongType = await forge.Client.PostAsync($"/api/ingestion/datasets/{datasetId}/text", new StringContent("{}", Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        Assert.Equal(1, receipt.GetProperty("documents").GetInt64());
        Assert.Equal([$"{datasetId}:notes"], receipt.GetProperty("sources").EnumerateArray().Select(s => s.GetString()));
        Assert.Equal(HttpStatusCode.UnsupportedMediaType, wrongType.StatusCode);
        var dataset = await WaitUntilCleanedAsync(datasetId, 1);
        Assert.Equal(1, dataset.GetProperty("totals").GetProperty("cleanedDocuments").GetInt32());
    }

    [Fact]
    public async Task AStrictStreamWithABadLineIsRefusedWhole()
    {
        var datasetId = SliceScenarios.NewDatasetId();
        await SliceScenarios.CreateDatasetAsync(forge.Client, datasetId);
        var body = CorpusGenerator.Line(_generator.Document(60)) + CorpusGenerator.Line(_generator.Document(60)) + "{\"text\": 3}\n" + CorpusGenerator.Line(_generator.Document(60));

        using var response = await forge.Client.PostAsync($"/api/ingestion/datasets/{datasetId}/stream?strict=true", new StringContent(body, Encoding.UTF8, "application/x-ndjson"));
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();

        Assert.Equal(HttpStatusCode.UnprocessableEntity, response.StatusCode);
        Assert.Contains("line 3", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        var dataset = await forge.Client.GetFromJsonAsync<JsonElement>($"/api/ingestion/datasets/{datasetId}");
        Assert.Equal(0, dataset.GetProperty("totals").GetProperty("batches").GetInt32());
        var artifacts = forge.App.Services.GetRequiredService<IArtifactStore>();
        Assert.Empty(await artifacts.ListAsync($"datasets/{datasetId}/").ToListAsync());
    }

    [Fact]
    public async Task ADeletedSourceIsLeftOutOfLaterVersionsAndLineageNamesTheVersionsThatHeldIt()
    {
        var datasetId = SliceScenarios.NewDatasetId();
        await SliceScenarios.CreateDatasetAsync(forge.Client, datasetId);
        await PostStreamAsync(datasetId, "wiki", 30);
        await PostStreamAsync(datasetId, "forum", 20);
        await WaitUntilCleanedAsync(datasetId, 2);

        var first = await SealAsync(datasetId);
        using (var deleted = await forge.Client.DeleteAsync($"/api/ingestion/datasets/{datasetId}/sources/forum"))
            Assert.Equal(HttpStatusCode.OK, deleted.StatusCode);
        var second = await Eventually.WaitAsync(
            () => SealAsync(datasetId),
            v => v.GetProperty("excludedSources").GetArrayLength() == 1,
            TimeSpan.FromSeconds(20), "the deletion to reach cleaning");
        using var rejected = await forge.Client.PostAsync($"/api/ingestion/datasets/{datasetId}/stream?source=forum", new StringContent(CorpusGenerator.Line("late"), Encoding.UTF8, "application/x-ndjson"));

        Assert.Equal(50, first.GetProperty("documents").GetInt64());
        Assert.Equal(30, second.GetProperty("documents").GetInt64());
        Assert.Equal(HttpStatusCode.Conflict, rejected.StatusCode);
        var manifest = await forge.Client.GetFromJsonAsync<JsonElement>($"/api/cleaning/datasets/{datasetId}/versions/{second.GetProperty("number").GetInt32()}");
        Assert.Equal([$"{datasetId}:wiki"], manifest.GetProperty("sources").EnumerateArray().Select(s => s.GetString()));
        Assert.Equal(0.1, manifest.GetProperty("split").GetProperty("validationFraction").GetDouble());
        var lineage = await forge.Client.GetFromJsonAsync<JsonElement>($"/api/cleaning/datasets/{datasetId}/sources/{datasetId}:forum/versions");
        // Every version sealed before the deletion reached cleaning holds the source; none after it does.
        var holding = lineage.EnumerateArray().Select(v => v.GetProperty("number").GetInt32()).ToList();
        Assert.Contains(first.GetProperty("number").GetInt32(), holding);
        Assert.All(holding, number => Assert.True(number < second.GetProperty("number").GetInt32()));
    }

    [Fact]
    public async Task TheReportCountsDropsByReasonWithSamples()
    {
        var datasetId = SliceScenarios.NewDatasetId();
        await SliceScenarios.CreateDatasetAsync(forge.Client, datasetId, new { minWords = 20 });
        var keep = _generator.Document(60);
        var body = CorpusGenerator.Line(keep) + CorpusGenerator.Line(keep) + CorpusGenerator.Line("far too short")
            + CorpusGenerator.Line(_generator.Document(60) + " Mail me at someone@example.com today.");
        await PostStreamAsync(datasetId, "mixed", body: body);
        await WaitUntilCleanedAsync(datasetId, 1);

        var report = await forge.Client.GetFromJsonAsync<JsonElement>($"/api/cleaning/datasets/{datasetId}/report");

        Assert.Equal(4, report.GetProperty("documentsIn").GetInt64());
        Assert.Equal(2, report.GetProperty("documentsOut").GetInt64());
        Assert.Equal(1, report.GetProperty("dropped").GetProperty("exact-duplicate").GetInt64());
        Assert.Equal(1, report.GetProperty("dropped").GetProperty("too-few-words").GetInt64());
        Assert.Equal("far too short", report.GetProperty("samples").GetProperty("too-few-words")[0].GetProperty("excerpt").GetString());
        Assert.Equal(1, report.GetProperty("redactions").GetProperty("email").GetInt64());
    }

    [Fact]
    public async Task BadSettingsAndUnknownVersionsAreRefused()
    {
        var datasetId = SliceScenarios.NewDatasetId();

        using var unknownField = await forge.Client.PutAsJsonAsync($"/api/cleaning/datasets/{datasetId}/settings", new { minWordz = 3 });
        using var outOfRange = await forge.Client.PutAsJsonAsync($"/api/cleaning/datasets/{datasetId}/settings", new { nearDuplicateJaccard = 2 });
        using var version = await forge.Client.GetAsync($"/api/cleaning/datasets/{datasetId}/versions/9");
        using var seal = await forge.Client.PostAsJsonAsync($"/api/cleaning/datasets/{datasetId}/versions", new { validationFraction = 0.1 });

        Assert.Equal(HttpStatusCode.UnprocessableEntity, unknownField.StatusCode);
        Assert.Contains("minWordz", await unknownField.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.UnprocessableEntity, outOfRange.StatusCode);
        Assert.Contains("nearDuplicateJaccard", await outOfRange.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.NotFound, version.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, seal.StatusCode);
    }

    private async Task PostStreamAsync(string datasetId, string source, int documents = 0, string? body = null)
    {
        body ??= string.Concat(Enumerable.Range(0, documents).Select(_ => CorpusGenerator.Line(_generator.Document(60))));
        using var response = await forge.Client.PostAsync($"/api/ingestion/datasets/{datasetId}/stream?source={source}", new StringContent(body, Encoding.UTF8, "application/x-ndjson"));
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
    }

    private async Task<JsonElement> SealAsync(string datasetId)
    {
        using var response = await forge.Client.PostAsJsonAsync($"/api/cleaning/datasets/{datasetId}/versions", new { validationFraction = 0.1 });
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        return await response.Content.ReadFromJsonAsync<JsonElement>();
    }

    private Task<JsonElement> WaitUntilCleanedAsync(string datasetId, int batches) =>
        Eventually.WaitAsync(
            () => forge.Client.GetFromJsonAsync<JsonElement>($"/api/ingestion/datasets/{datasetId}"),
            d => d.GetProperty("totals").GetProperty("cleanedBatches").GetInt32() >= batches,
            TimeSpan.FromSeconds(30), $"{batches} batches to be cleaned");

    private static ByteArrayContent File(string name, byte[] bytes)
    {
        var content = new ByteArrayContent(bytes);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        content.Headers.ContentDisposition = new ContentDispositionHeaderValue("form-data") { Name = "\"files\"", FileName = $"\"{name}\"" };
        return content;
    }

    private static byte[] Gzip(string text)
    {
        using var output = new MemoryStream();
        using (var gzip = new GZipStream(output, CompressionLevel.Fastest))
            gzip.Write(Encoding.UTF8.GetBytes(text));
        return output.ToArray();
    }
}
