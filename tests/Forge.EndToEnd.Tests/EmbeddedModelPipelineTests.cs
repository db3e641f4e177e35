using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Forge.Testing;

namespace Forge.EndToEnd.Tests;

/// <summary>
/// From text to a trained model in the embedded mode, over real HTTP: ingest, clean, seal a version, train a
/// tokenizer on it, encode the version into token shards, train a small GPT on them.
/// </summary>
public sealed class EmbeddedModelPipelineTests(EmbeddedForge forge) : IClassFixture<EmbeddedForge>
{
    private HttpClient Client => forge.Client;

    private async Task<string> SealedVersionAsync(int documents)
    {
        var datasetId = SliceScenarios.NewDatasetId();
        await SliceScenarios.CreateDatasetAsync(Client, datasetId);
        var generator = new CorpusGenerator(5);
        var body = string.Concat(Enumerable.Range(0, documents).Select(_ => CorpusGenerator.Line(generator.Document(80))));
        using (var posted = await Client.PostAsync($"/api/ingestion/datasets/{datasetId}/stream", new StringContent(body, Encoding.UTF8, "application/x-ndjson")))
            Assert.Equal(HttpStatusCode.Accepted, posted.StatusCode);
        await Eventually.WaitAsync(() => Client.GetFromJsonAsync<JsonElement>($"/api/ingestion/datasets/{datasetId}"),
            d => d.GetProperty("totals").GetProperty("cleanedBatches").GetInt32() == 1, TimeSpan.FromSeconds(30), "cleaning");
        using var sealedVersion = await Client.PostAsJsonAsync($"/api/cleaning/datasets/{datasetId}/versions", new { validationFraction = 0.1 });
        var versionId = (await sealedVersion.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString()!;
        // The tokenizer service learns of the version from DatasetVersionSealed.
        await Eventually.WaitAsync(async () => (await Client.PostAsJsonAsync("/api/tokenizer/tokenizers", new { id = "probe-" + Guid.NewGuid().ToString("N")[..8], datasetVersion = versionId, kind = "char" })).StatusCode,
            status => status == HttpStatusCode.Accepted, TimeSpan.FromSeconds(10), "the tokenizer service to know the version");
        return versionId;
    }

    private Task<JsonElement> WaitAsync(string path, string what) =>
        Eventually.WaitAsync(() => Client.GetFromJsonAsync<JsonElement>(path), e => e.GetProperty("state").GetString() is "Completed" or "Failed", TimeSpan.FromSeconds(120), what);

    [Fact]
    public async Task TextBecomesATokenizerTokenShardsAndATrainedModel()
    {
        var version = await SealedVersionAsync(300);

        using (var train = await Client.PostAsJsonAsync("/api/tokenizer/tokenizers", new { id = "bpe-e2e", datasetVersion = version, kind = "bpe", vocabularySize = 400, minFrequency = 2 }))
            Assert.Equal(HttpStatusCode.Accepted, train.StatusCode);
        var tokenizer = await WaitAsync("/api/tokenizer/tokenizers/bpe-e2e", "the tokenizer to be trained");
        Assert.Equal("Completed", tokenizer.GetProperty("state").GetString());
        Assert.Equal(400, tokenizer.GetProperty("vocabularySize").GetInt32());
        Assert.True(tokenizer.GetProperty("charactersPerToken").GetDouble() > 1.5);
        var hfJson = await Client.GetFromJsonAsync<JsonElement>("/api/tokenizer/tokenizers/bpe-e2e/files/tokenizer.json");
        Assert.Equal("BPE", hfJson.GetProperty("model").GetProperty("type").GetString());
        var merges = await Client.GetStringAsync("/api/tokenizer/tokenizers/bpe-e2e/files/merges.txt");
        Assert.True(merges.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length > 100);
        var ids = await (await Client.PostAsJsonAsync("/api/tokenizer/tokenizers/bpe-e2e/encode", new { text = "Hello wörld 👋" })).Content.ReadFromJsonAsync<int[]>();
        var decoded = await (await Client.PostAsJsonAsync("/api/tokenizer/tokenizers/bpe-e2e/decode", new { ids })).Content.ReadFromJsonAsync<string>();
        Assert.Equal("Hello wörld 👋", decoded);

        using (var tokenize = await Client.PostAsJsonAsync("/api/tokenizer/tokenizations", new { tokenizerId = "bpe-e2e", datasetVersion = version }))
            Assert.Equal(HttpStatusCode.Accepted, tokenize.StatusCode);
        var tokenization = await WaitAsync($"/api/tokenizer/tokenizations/{version}/bpe-e2e", "the version to be tokenized");
        Assert.Equal("Completed", tokenization.GetProperty("state").GetString());
        Assert.Equal(300, tokenization.GetProperty("trainDocuments").GetInt64() + tokenization.GetProperty("validationDocuments").GetInt64());
        Assert.InRange(tokenization.GetProperty("validationDocuments").GetInt64(), 10, 60);
        var trainShards = tokenization.GetProperty("trainShards").EnumerateArray().Select(s => s.GetString()).ToArray();
        var validationShards = tokenization.GetProperty("validationShards").EnumerateArray().Select(s => s.GetString()).ToArray();

        using var submitted = await Client.PostAsJsonAsync("/api/trainer/runs", new
        {
            name = "e2e",
            model = new { architecture = "gpt", layers = 2, heads = 2, width = 32, contextLength = 32, dropout = 0.0 },
            training = new { batchSize = 4, maxSteps = 40, warmupSteps = 5, decaySteps = 40, learningRate = 3e-3, minLearningRate = 3e-4, checkpointInterval = 20, evaluationInterval = 20, evaluationBatches = 2, logInterval = 5 },
            trainShards,
            validationShards,
            datasetVersion = version,
        });
        Assert.Equal(HttpStatusCode.Accepted, submitted.StatusCode);
        var run = await WaitAsync($"/api/trainer/runs/{(await submitted.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString()}", "the run to finish");
        Assert.Equal("Completed", run.GetProperty("state").GetString());
        Assert.Equal("bpe-e2e", run.GetProperty("tokenizerId").GetString());
        Assert.Equal(400, run.GetProperty("model").GetProperty("vocabularySize").GetInt32());

        // The completed run is registered as a candidate, measured on its held-out shards, and (no policy) promoted.
        var versions = await Eventually.WaitAsync(
            () => Client.GetFromJsonAsync<JsonElement>("/api/orchestrator/models?model=e2e"),
            v => v.EnumerateArray().Any(m => m.GetProperty("state").GetString() == "Promoted"),
            TimeSpan.FromSeconds(60), "the model version to be evaluated and promoted");
        var promoted = versions.EnumerateArray().Single(m => m.GetProperty("runId").GetString() == run.GetProperty("id").GetString());
        Assert.Equal([version], promoted.GetProperty("datasetVersions").EnumerateArray().Select(d => d.GetString()));
        var heldOut = promoted.GetProperty("metrics").GetProperty("validation");
        Assert.InRange(heldOut.GetProperty("perplexity").GetDouble(), 1.0, 400.0);
        Assert.Equal(Math.Exp(heldOut.GetProperty("loss").GetDouble()), heldOut.GetProperty("perplexity").GetDouble(), 6);
        Assert.True(heldOut.GetProperty("bitsPerByte").GetDouble() > 0);

        // The evaluator generates with the version on a task eval set and scores what it wrote.
        var evalSet = string.Concat(
            JsonSerializer.Serialize(new { prompt = "the river and the", references = new[] { "town of the bridge" } }) + "\n",
            JsonSerializer.Serialize(new { prompt = "in the summer", references = new[] { "of the market" } }) + "\n");
        using (var uploaded = await Client.PostAsync("/api/evaluator/evalsets/e2e-task", new StringContent(evalSet, Encoding.UTF8, "application/x-ndjson")))
            Assert.True(uploaded.IsSuccessStatusCode, await uploaded.Content.ReadAsStringAsync());
        using var generated = await Client.PostAsJsonAsync("/api/evaluator/evalsets/e2e-task/generations", new { modelVersionId = promoted.GetProperty("id").GetString(), maxNewTokens = 8 });
        var report = await generated.Content.ReadFromJsonAsync<JsonElement>();
        Assert.True(generated.StatusCode == HttpStatusCode.Created, report.ToString());
        Assert.Equal(2, report.GetProperty("examples").GetArrayLength());
        Assert.All(report.GetProperty("examples").EnumerateArray(), e => Assert.False(string.IsNullOrEmpty(e.GetProperty("output").GetString())));
        Assert.InRange(report.GetProperty("metrics").GetProperty("bleu").GetDouble(), 0, 100);
        using var unknown = await Client.PostAsJsonAsync("/api/evaluator/evalsets/e2e-task/generations", new { modelVersionId = "nope@1" });
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);

        // The promoted version exported in Hugging Face's GPT-2 layout.
        using var exported = await Client.PostAsync($"/api/evaluator/models/{promoted.GetProperty("id").GetString()}/export", null);
        var export = await exported.Content.ReadFromJsonAsync<JsonElement>();
        Assert.True(exported.StatusCode == HttpStatusCode.OK, export.ToString());
        Assert.Equal(["config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json"],
            export.GetProperty("files").EnumerateArray().Select(f => f.GetString()!.Split('/')[^1]).Order(StringComparer.Ordinal));
        using var unknownExport = await Client.PostAsync("/api/evaluator/models/nope@1/export", null);
        Assert.Equal(HttpStatusCode.NotFound, unknownExport.StatusCode);
    }

    [Fact]
    public async Task BadTokenizerRequestsAreRefusedNamingTheField()
    {
        var version = await SealedVersionAsync(20);

        using var tooSmall = await Client.PostAsJsonAsync("/api/tokenizer/tokenizers", new { datasetVersion = version, kind = "bpe", vocabularySize = 200 });
        using var unknownVersion = await Client.PostAsJsonAsync("/api/tokenizer/tokenizers", new { datasetVersion = "nope@1", kind = "bpe", vocabularySize = 500 });
        using var unknownField = await Client.PostAsJsonAsync("/api/tokenizer/tokenizers", new { datasetVersion = version, vocab = 500 });
        using var corrupt = await Client.PutAsync("/api/tokenizer/tokenizers/imported", new StringContent("""{"pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": false, "use_regex": true}, "decoder": {"type": "ByteLevel"}, "model": {"type": "BPE", "vocab": {"a": 0, "b": 1}, "merges": ["a c"]}}""", Encoding.UTF8, "application/json"));
        using var unknownTokenizer = await Client.PostAsJsonAsync("/api/tokenizer/tokenizations", new { tokenizerId = "nope", datasetVersion = version });

        Assert.Equal(HttpStatusCode.UnprocessableEntity, tooSmall.StatusCode);
        Assert.Contains("vocabularySize", await tooSmall.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.NotFound, unknownVersion.StatusCode);
        Assert.Equal(HttpStatusCode.UnprocessableEntity, unknownField.StatusCode);
        Assert.Contains("vocab", await unknownField.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.UnprocessableEntity, corrupt.StatusCode);
        var corruptProblem = await corrupt.Content.ReadFromJsonAsync<JsonElement>();
        Assert.StartsWith("model.", corruptProblem.GetProperty("errors").EnumerateObject().Single().Name, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.NotFound, unknownTokenizer.StatusCode);
    }
}
