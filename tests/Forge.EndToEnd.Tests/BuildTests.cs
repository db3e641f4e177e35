using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Forge.Testing;

namespace Forge.EndToEnd.Tests;

/// <summary>Recipes run as builds in the embedded mode over real HTTP: every stage, bad recipes, failures and retries.</summary>
public sealed class BuildTests(EmbeddedForge forge) : IClassFixture<EmbeddedForge>, IDisposable
{
    private readonly TemporaryFolder _folder = new("recipes");

    private HttpClient Client => forge.Client;

    /// <summary>A fortune-style file ('%' between quotes) and a plain text file, in a folder of their own.</summary>
    private void WriteCorpus(int documents) => CorpusGenerator.WriteFortuneFolder(_folder.Path, documents);

    private const string PerplexityGate = """
        evaluation:
          metrics:
            - evalSet: validation
              metric: perplexity
              threshold: 1000
        """;

    private static string Recipe(string name, int contextLength = 32, string extra = "", string evaluation = PerplexityGate) => $"""
        name: {name}
        useCase: an end-to-end test
        data:
          sources:
            - path: corpus
              separator: "%"
          validationFraction: 0.1
          cleaning:
            qualityFilters: false
        tokenizer:
          kind: bpe
          vocabularySize: 400
        model:
          layers: 2
          heads: 2
          width: 32
          contextLength: {contextLength}
          dropout: 0
        training:
          batchSize: 4
          maxSteps: 30
          warmupSteps: 5
          decaySteps: 30
          evaluationInterval: 0
          logInterval: 5
        {evaluation}
        {extra}
        """;

    private async Task<JsonElement> SubmitAsync(string recipe, HttpStatusCode expected)
    {
        using var response = await Client.PostAsJsonAsync("/api/orchestrator/builds", new { recipe, baseFolder = _folder.Path });
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.True(response.StatusCode == expected, $"expected {(int)expected}, got {(int)response.StatusCode}: {body}");
        return body;
    }

    private Task<JsonElement> FinishedAsync(string buildId) =>
        Eventually.WaitAsync(() => Client.GetFromJsonAsync<JsonElement>($"/api/orchestrator/builds/{buildId}"),
            b => b.GetProperty("state").GetString() != "Running", TimeSpan.FromSeconds(180), "the build to end");

    [Fact]
    public async Task ARecipeRunsThroughEveryStageToAServedModel()
    {
        WriteCorpus(200);
        var submitted = await SubmitAsync(Recipe("built", extra: "feedback:\n  minNewFeedback: 5\n"), HttpStatusCode.Accepted);
        var build = await FinishedAsync(submitted.GetProperty("id").GetString()!);

        Assert.True(build.GetProperty("state").GetString() == "Completed", build.ToString());
        var stages = build.GetProperty("stages").EnumerateArray().ToList();
        Assert.Equal(["ingest", "clean", "seal", "tokenizer", "tokenize", "pretrain", "register", "evaluate", "promote", "serve"],
            stages.Select(s => s.GetProperty("name").GetString()));
        Assert.All(stages, s => Assert.Equal("Completed", s.GetProperty("state").GetString()));
        // Each stage with a command sent it once: nothing ran twice.
        Assert.All(stages.Where(s => s.GetProperty("attempts").GetInt32() > 0), s => Assert.Equal(1, s.GetProperty("attempts").GetInt32()));
        Assert.Equal(201, build.GetProperty("documentsIngested").GetInt64());
        Assert.True(build.GetProperty("documentsKept").GetInt64() > 150);
        Assert.Equal(400, build.GetProperty("vocabularySize").GetInt32());
        Assert.True(build.GetProperty("metrics").GetProperty("validation.perplexity").GetDouble() < 1000);
        var version = build.GetProperty("modelVersionId").GetString()!;
        Assert.Equal("built@1", version);

        // The registry promoted it through the recipe's gate, and inference serves it under the recipe's name.
        var family = await Client.GetFromJsonAsync<JsonElement>("/api/orchestrator/families/built");
        Assert.Equal(version, family.GetProperty("promotedVersionId").GetString());
        await Eventually.WaitAsync(() => Client.GetFromJsonAsync<JsonElement>("/v1/models"),
            m => m.GetProperty("data").EnumerateArray().Any(x => x.GetProperty("id").GetString() == "built"), TimeSpan.FromSeconds(10), "the model to be served");
        using var completion = await Client.PostAsJsonAsync("/v1/completions", new { model = "built", prompt = "the", max_tokens = 8 });
        Assert.Equal(HttpStatusCode.OK, completion.StatusCode);
        // The recipe's feedback policy reached the feedback service.
        var policy = await Eventually.WaitAsync(async () =>
            {
                using var response = await Client.GetAsync("/api/feedback/models/built/policy");
                return response.IsSuccessStatusCode ? await response.Content.ReadFromJsonAsync<JsonElement>() : default;
            }, p => p.ValueKind == JsonValueKind.Object, TimeSpan.FromSeconds(10), "the retraining policy");
        Assert.Equal(5, policy.GetProperty("minNewFeedback").GetInt32());
    }

    [Fact]
    public async Task ATaskEvalSetIsStoredFirstAndEveryVersionIsScoredOnItBeforeItsGatePromotesIt()
    {
        WriteCorpus(100);
        var generator = new CorpusGenerator(3);
        File.WriteAllText(Path.Combine(_folder.Path, "tasks.jsonl"), string.Concat(Enumerable.Range(0, 8).Select(_ =>
            JsonSerializer.Serialize(new { prompt = generator.Document(6), references = new[] { generator.Document(4) } }) + "\n")));
        // The held-out perplexity and the task BLEU are both gated: whichever is measured first, the registry refuses
        // the version for the other one "not measured", and the build waits for it rather than failing.
        var submitted = await SubmitAsync(Recipe("scored", evaluation: """
            evaluation:
              sets:
                - name: scored-tasks
                  path: tasks.jsonl
              metrics:
                - evalSet: validation
                  metric: perplexity
                  threshold: 1000
                - evalSet: scored-tasks
                  metric: bleu
                  threshold: 0
            """), HttpStatusCode.Accepted);
        var build = await FinishedAsync(submitted.GetProperty("id").GetString()!);

        Assert.True(build.GetProperty("state").GetString() == "Completed", build.ToString());
        var stages = build.GetProperty("stages").EnumerateArray().ToList();
        Assert.Equal(["evalsets", "ingest", "clean", "seal", "tokenizer", "tokenize", "pretrain", "register", "evaluate", "promote", "serve"],
            stages.Select(s => s.GetProperty("name").GetString()));
        Assert.All(stages.Where(s => s.GetProperty("attempts").GetInt32() > 0), s => Assert.Equal(1, s.GetProperty("attempts").GetInt32()));
        Assert.Equal(["scored-tasks"], build.GetProperty("storedEvalSets").EnumerateArray().Select(s => s.GetString()));
        Assert.Equal(["scored-tasks", "validation"], build.GetProperty("evaluatedSets").EnumerateArray().Select(s => s.GetString()!).Order(StringComparer.Ordinal));
        Assert.True(build.GetProperty("metrics").TryGetProperty("scored-tasks.bleu", out _), build.ToString());

        // The evaluator keeps the set and one evaluation of the version on it; the registry holds its task metrics.
        var versionId = build.GetProperty("modelVersionId").GetString()!;
        var evalSet = await Client.GetFromJsonAsync<JsonElement>("/api/evaluator/evalsets/scored-tasks");
        Assert.Equal(8, evalSet.GetProperty("evalSet").GetProperty("exampleCount").GetInt32());
        var evaluations = await Client.GetFromJsonAsync<JsonElement>($"/api/evaluator/evaluations?modelVersionId={Uri.EscapeDataString(versionId)}");
        Assert.Single(evaluations.EnumerateArray(), e => e.GetProperty("evalSet").GetString() == "scored-tasks");
        var version = await Client.GetFromJsonAsync<JsonElement>($"/api/orchestrator/models/{Uri.EscapeDataString(versionId)}");
        Assert.Equal("Promoted", version.GetProperty("state").GetString());
        var task = version.GetProperty("metrics").GetProperty("scored-tasks");
        Assert.InRange(task.GetProperty("bleu").GetDouble(), 0, 100);
        Assert.InRange(task.GetProperty("chrf").GetDouble(), 0, 100);
        Assert.True(version.GetProperty("metrics").GetProperty("validation").GetProperty("perplexity").GetDouble() < 1000);
    }

    [Fact]
    public async Task ABadEvalSetFailsTheBuildNamingTheLineBeforeAnythingTrains()
    {
        WriteCorpus(5);
        File.WriteAllText(Path.Combine(_folder.Path, "broken.jsonl"), """
            {"prompt": "the river", "references": ["runs by the town"]}
            {"prompt": "in the summer", "references": ["of the market"
            {"prompt": "the bridge", "references": ["over the water"]}
            """);
        var submitted = await SubmitAsync(Recipe("brokenset", evaluation: """
            evaluation:
              sets:
                - name: broken-tasks
                  path: broken.jsonl
            """), HttpStatusCode.Accepted);
        var build = await FinishedAsync(submitted.GetProperty("id").GetString()!);

        Assert.Equal("Failed", build.GetProperty("state").GetString());
        var stages = build.GetProperty("stages").EnumerateArray().ToDictionary(s => s.GetProperty("name").GetString()!, s => s);
        Assert.Equal("Failed", stages["evalsets"].GetProperty("state").GetString());
        var detail = stages["evalsets"].GetProperty("detail").GetString()!;
        Assert.Contains("broken-tasks", detail, StringComparison.Ordinal);
        Assert.Contains("line 2", detail, StringComparison.Ordinal);
        Assert.StartsWith("evalsets:", build.GetProperty("failure").GetString(), StringComparison.Ordinal);
        Assert.Equal("Pending", stages["ingest"].GetProperty("state").GetString());
        using var stored = await Client.GetAsync("/api/evaluator/evalsets/broken-tasks");
        Assert.Equal(HttpStatusCode.NotFound, stored.StatusCode);
    }

    [Fact]
    public async Task ABadRecipeIsRefusedNamingFieldsAndLinesAndNothingRuns()
    {
        WriteCorpus(5);
        var before = (await Client.GetFromJsonAsync<JsonElement>("/api/orchestrator/builds")).GetArrayLength();
        var recipe = Recipe("bad").Replace("heads: 2", "heads: 3", StringComparison.Ordinal).Replace("batchSize: 4", "batchSize: many", StringComparison.Ordinal)
            .Replace("path: corpus", "path: nowhere", StringComparison.Ordinal) + "\nlearningrate: 3\n";
        var problem = await SubmitAsync(recipe, HttpStatusCode.UnprocessableEntity);
        var errors = problem.GetProperty("recipeErrors").EnumerateArray().ToList();
        var fields = errors.Select(e => e.GetProperty("field").GetString()).ToList();
        Assert.Contains("model.heads", fields);
        Assert.Contains("training.batchSize", fields);
        Assert.Contains("data.sources[0].path", fields);
        Assert.Contains("learningrate", fields);
        var heads = errors.Single(e => e.GetProperty("field").GetString() == "model.heads");
        Assert.Equal(recipe.Split('\n').ToList().FindIndex(l => l.Contains("heads: 3", StringComparison.Ordinal)) + 1, heads.GetProperty("line").GetInt32());
        Assert.Equal(before, (await Client.GetFromJsonAsync<JsonElement>("/api/orchestrator/builds")).GetArrayLength());

        using var notYaml = await Client.PostAsync($"/api/orchestrator/builds?baseFolder={Uri.EscapeDataString(_folder.Path)}", new StringContent("name: [unclosed", Encoding.UTF8, "application/yaml"));
        Assert.Equal(HttpStatusCode.UnprocessableEntity, notYaml.StatusCode);
        using var unknown = await Client.GetAsync("/api/orchestrator/builds/nope");
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
    }

    [Fact]
    public async Task AFailedStageIsReportedAndARetryStartsThereWithoutRedoingTheOthers()
    {
        WriteCorpus(20);
        // A context longer than the data: only the trainer can tell, once the shards exist.
        var submitted = await SubmitAsync(Recipe("toolong", contextLength: 4096), HttpStatusCode.Accepted);
        var buildId = submitted.GetProperty("id").GetString()!;
        var failed = await FinishedAsync(buildId);
        Assert.Equal("Failed", failed.GetProperty("state").GetString());
        var pretrain = failed.GetProperty("stages").EnumerateArray().Single(s => s.GetProperty("name").GetString() == "pretrain");
        Assert.Equal("Failed", pretrain.GetProperty("state").GetString());
        Assert.Contains("contextLength", pretrain.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.StartsWith("pretrain:", failed.GetProperty("failure").GetString(), StringComparison.Ordinal);

        using (var retry = await Client.PostAsync($"/api/orchestrator/builds/{buildId}/retry", null))
            Assert.Equal(HttpStatusCode.Accepted, retry.StatusCode);
        var again = await FinishedAsync(buildId);
        Assert.Equal("Failed", again.GetProperty("state").GetString());
        var stages = again.GetProperty("stages").EnumerateArray().ToDictionary(s => s.GetProperty("name").GetString()!, s => s.GetProperty("attempts").GetInt32());
        Assert.Equal(2, stages["pretrain"]);
        Assert.Equal(1, stages["ingest"]);
        Assert.Equal(1, stages["tokenizer"]);
        using (var cancelFinished = await Client.PostAsync($"/api/orchestrator/builds/{buildId}/cancel", null))
            Assert.Equal(HttpStatusCode.Conflict, cancelFinished.StatusCode);
    }

    [Fact]
    public async Task ADatasetTooSmallToSplitFailsAtTokenizeSayingWhyInsteadOfWaiting()
    {
        // One short document: the split puts it whole on one side, and the other is empty.
        File.WriteAllText(Path.Combine(_folder.Path, "one.txt"), new CorpusGenerator(5).Document(80));
        var recipe = Recipe("onedoc").Replace("    - path: corpus\n      separator: \"%\"", "    - path: one.txt", StringComparison.Ordinal);
        Assert.Contains("path: one.txt", recipe, StringComparison.Ordinal);

        var failed = await FinishedAsync((await SubmitAsync(recipe, HttpStatusCode.Accepted)).GetProperty("id").GetString()!);

        Assert.Equal("Failed", failed.GetProperty("state").GetString());
        var failure = failed.GetProperty("failure").GetString()!;
        Assert.StartsWith("tokenize:", failure, StringComparison.Ordinal);
        Assert.Contains("split of onedoc", failure, StringComparison.Ordinal);
        Assert.Contains("is empty", failure, StringComparison.Ordinal);
        Assert.Equal("Pending", failed.GetProperty("stages").EnumerateArray().Single(s => s.GetProperty("name").GetString() == "pretrain").GetProperty("state").GetString());
    }

    [Fact]
    public async Task ARunningBuildCanBeCancelled()
    {
        WriteCorpus(50);
        var submitted = await SubmitAsync(Recipe("cancelled").Replace("maxSteps: 30", "maxSteps: 100000", StringComparison.Ordinal).Replace("decaySteps: 30", "decaySteps: 100000", StringComparison.Ordinal), HttpStatusCode.Accepted);
        var buildId = submitted.GetProperty("id").GetString()!;
        await Eventually.WaitAsync(() => Client.GetFromJsonAsync<JsonElement>($"/api/orchestrator/builds/{buildId}"),
            b => b.GetProperty("stages").EnumerateArray().Any(s => s.GetProperty("name").GetString() == "pretrain" && s.GetProperty("state").GetString() == "Running"),
            TimeSpan.FromSeconds(120), "pretraining to start");
        using (var cancel = await Client.PostAsync($"/api/orchestrator/builds/{buildId}/cancel", null))
            Assert.Equal(HttpStatusCode.Accepted, cancel.StatusCode);
        var build = await Client.GetFromJsonAsync<JsonElement>($"/api/orchestrator/builds/{buildId}");
        Assert.Equal("Cancelled", build.GetProperty("state").GetString());
        var runId = build.GetProperty("runId").GetString();
        await Eventually.WaitAsync(() => Client.GetFromJsonAsync<JsonElement>($"/api/trainer/runs/{runId}"),
            r => r.GetProperty("state").GetString() == "Cancelled", TimeSpan.FromSeconds(60), "the pretraining run to stop");
    }

    public void Dispose() => _folder.Dispose();
}
