using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Forge.Testing;

namespace Forge.EndToEnd.Tests;

/// <summary>What <see cref="ModelPipeline.PrepareDataAsync"/> made: a sealed dataset version, a BPE tokenizer trained on it, and its token shards.</summary>
public sealed record PreparedData(string DatasetVersion, string TokenizerId, string[] TrainShards, string[] ValidationShards);

/// <summary>Drives the real services over HTTP from text to a promoted model version, for tests that need a served model.</summary>
public static class ModelPipeline
{
    public static readonly TimeSpan Deadline = TimeSpan.FromSeconds(180);

    /// <summary>Ingests generated documents, cleans and seals them, trains a BPE tokenizer (with the role tokens) and encodes the version.</summary>
    public static async Task<PreparedData> PrepareDataAsync(HttpClient client, string tokenizerId, int documents = 300, int vocabularySize = 400)
    {
        var datasetId = SliceScenarios.NewDatasetId();
        await SliceScenarios.CreateDatasetAsync(client, datasetId);
        var generator = new CorpusGenerator(5);
        var body = string.Concat(Enumerable.Range(0, documents).Select(_ => CorpusGenerator.Line(generator.Document(80))));
        using (var posted = await client.PostAsync($"/api/ingestion/datasets/{datasetId}/stream", new StringContent(body, Encoding.UTF8, "application/x-ndjson")))
            Assert.Equal(HttpStatusCode.Accepted, posted.StatusCode);
        await Eventually.WaitAsync(() => client.GetFromJsonAsync<JsonElement>($"/api/ingestion/datasets/{datasetId}"),
            d => d.GetProperty("totals").GetProperty("cleanedBatches").GetInt32() == 1, TimeSpan.FromSeconds(60), "cleaning");
        using var sealedVersion = await client.PostAsJsonAsync($"/api/cleaning/datasets/{datasetId}/versions", new { validationFraction = 0.1 });
        var version = (await sealedVersion.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString()!;

        // The tokenizer service learns of the version from DatasetVersionSealed: retry until it knows it.
        await Eventually.WaitAsync(async () =>
            {
                using var train = await client.PostAsJsonAsync("/api/tokenizer/tokenizers", new { id = tokenizerId, datasetVersion = version, kind = "bpe", vocabularySize, minFrequency = 2 });
                return train.StatusCode;
            },
            status => status is HttpStatusCode.Accepted or HttpStatusCode.Conflict, TimeSpan.FromSeconds(20), "the tokenizer service to know the version");
        await WaitFinishedAsync(client, $"/api/tokenizer/tokenizers/{tokenizerId}", "the tokenizer to be trained");
        using (var tokenize = await client.PostAsJsonAsync("/api/tokenizer/tokenizations", new { tokenizerId, datasetVersion = version }))
            Assert.Equal(HttpStatusCode.Accepted, tokenize.StatusCode);
        var tokenization = await WaitFinishedAsync(client, $"/api/tokenizer/tokenizations/{version}/{tokenizerId}", "the version to be tokenized");
        return new PreparedData(version, tokenizerId,
            [.. tokenization.GetProperty("trainShards").EnumerateArray().Select(s => s.GetString()!)],
            [.. tokenization.GetProperty("validationShards").EnumerateArray().Select(s => s.GetString()!)]);
    }

    /// <summary>Trains a tiny GPT named <paramref name="model"/> on the data and waits until a version of it is promoted; returns that version's id.</summary>
    public static async Task<string> TrainPromotedAsync(HttpClient client, PreparedData data, string model, int steps = 60, int contextLength = 64)
    {
        using var submitted = await client.PostAsJsonAsync("/api/trainer/runs", new
        {
            name = model,
            model = new { architecture = "gpt", layers = 2, heads = 2, width = 48, contextLength, dropout = 0.0 },
            training = new { batchSize = 8, maxSteps = steps, warmupSteps = 5, decaySteps = steps, learningRate = 3e-3, minLearningRate = 3e-4, evaluationInterval = 0, logInterval = 10 },
            trainShards = data.TrainShards,
            validationShards = data.ValidationShards,
            datasetVersion = data.DatasetVersion,
        });
        var submission = await submitted.Content.ReadFromJsonAsync<JsonElement>();
        Assert.True(submitted.StatusCode == HttpStatusCode.Accepted, submission.ToString());
        var run = await WaitFinishedAsync(client, $"/api/trainer/runs/{submission.GetProperty("id").GetString()}", "the run to finish");
        Assert.Equal("Completed", run.GetProperty("state").GetString());
        var versions = await Eventually.WaitAsync(
            () => client.GetFromJsonAsync<JsonElement>($"/api/orchestrator/models?model={model}"),
            v => v.EnumerateArray().Any(m => m.GetProperty("state").GetString() == "Promoted"),
            TimeSpan.FromSeconds(60), "the model version to be evaluated and promoted");
        var promoted = versions.EnumerateArray().Single(m => m.GetProperty("state").GetString() == "Promoted").GetProperty("id").GetString()!;
        // The inference service learns of the promotion from ModelPromoted.
        await Eventually.WaitAsync(() => client.GetFromJsonAsync<JsonElement>("/api/inference/models"),
            m => m.GetProperty("models").EnumerateArray().Any(x => x.GetProperty("promoted").GetString() == promoted),
            TimeSpan.FromSeconds(20), "the inference service to serve the promoted version");
        return promoted;
    }

    /// <summary>Waits until the job at <paramref name="path"/> ends; a 404 means it is not recorded yet (the request travels over the bus).</summary>
    public static Task<JsonElement> WaitFinishedAsync(HttpClient client, string path, string what) =>
        Eventually.WaitAsync(async () =>
            {
                using var response = await client.GetAsync(path);
                return response.StatusCode == HttpStatusCode.NotFound ? default : await response.Content.ReadFromJsonAsync<JsonElement>();
            },
            e => e.ValueKind == JsonValueKind.Object && e.GetProperty("state").GetString() is "Completed" or "Failed", Deadline, what);
}

/// <summary>The embedded host with one tiny model trained through the real pipeline and promoted as "served".</summary>
public sealed class ServingForge : EmbeddedForge
{
    public const string Model = "served";
    public const int ConcurrentPerKey = 2;

    public PreparedData Data { get; private set; } = null!;
    public string VersionId { get; private set; } = "";

    protected override IReadOnlyDictionary<string, string?> Settings => new Dictionary<string, string?>
    {
        ["Inference:MaxConcurrentPerKey"] = ConcurrentPerKey.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["Inference:MaxTokens"] = "4000",
    };

    public override async Task InitializeAsync()
    {
        await base.InitializeAsync();
        Data = await ModelPipeline.PrepareDataAsync(Client, "bpe-serving");
        VersionId = await ModelPipeline.TrainPromotedAsync(Client, Data, Model);
    }
}
