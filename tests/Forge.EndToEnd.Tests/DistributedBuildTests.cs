using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Forge.Testing;
using Xunit.Abstractions;

namespace Forge.EndToEnd.Tests;

/// <summary>
/// Recipes run as builds in the distributed mode: each service in its own process on the real RabbitMQ and S3, the
/// recipe submitted through the gateway; and an orchestrator killed mid-build, started again, finishes it.
/// </summary>
[Collection(DistributedCollection.Name)]
public sealed class DistributedBuildTests(DistributedForge forge, ITestOutputHelper output) : IDisposable
{
    private static readonly string[] StageNames = ["ingest", "clean", "seal", "tokenizer", "tokenize", "pretrain", "register", "evaluate", "promote", "serve"];
    private readonly TemporaryFolder _folder = new("distributed-recipes");

    private HttpClient Gateway => forge.Gateway;

    [SkippableFact]
    public async Task ARecipeRunsThroughEveryStageOverRabbitMqToAServedModel()
    {
        Skip.If(forge.SkipReason is not null, forge.SkipReason);
        WriteCorpus(200);

        var buildId = await SubmitAsync(Recipe("dist-built", steps: 40, extra: "feedback:\n  minNewFeedback: 5\n"));
        var build = await FinishedAsync(buildId, TimeSpan.FromSeconds(150));

        Assert.True(build.GetProperty("state").GetString() == "Completed", build.ToString());
        var stages = build.GetProperty("stages").EnumerateArray().ToList();
        Assert.Equal(StageNames, stages.Select(s => s.GetProperty("name").GetString()));
        Assert.All(stages, s => Assert.Equal("Completed", s.GetProperty("state").GetString()));
        Assert.All(stages.Where(s => s.GetProperty("attempts").GetInt32() > 0), s => Assert.Equal(1, s.GetProperty("attempts").GetInt32()));
        Assert.Equal(201, build.GetProperty("documentsIngested").GetInt64());
        Assert.Equal(400, build.GetProperty("vocabularySize").GetInt32());
        Assert.Equal("dist-built@1", build.GetProperty("modelVersionId").GetString());
        await AssertServedAsync("dist-built");
        // The recipe's feedback policy reached the feedback service, in its own process.
        var policy = await GetWhenFoundAsync("/api/feedback/models/dist-built/policy", TimeSpan.FromSeconds(10), "the retraining policy");
        Assert.Equal(5, policy.GetProperty("minNewFeedback").GetInt32());
    }

    /// <summary>
    /// The orchestrator is killed while the trainer runs the build's pretraining, and started again either while the
    /// run goes on (it catches up from the progress events) or only after the run has ended (TrainingRunCompleted waited
    /// in its queue, and the trainer answers the resent PretrainRequested with the same event again).
    /// </summary>
    [SkippableTheory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task KillingTheOrchestratorMidBuildAndStartingItAgainFinishesTheBuildWithNoStageRunTwice(bool backAfterTheRunEnded)
    {
        Skip.If(forge.SkipReason is not null, forge.SkipReason);
        WriteCorpus(200);
        // Some 12-25 s of training on two cores (80-170 steps a second): time to kill the orchestrator mid-run and start it again.
        const int steps = 2000;
        var model = backAfterTheRunEnded ? "dist-resumed-late" : "dist-resumed";
        var buildId = await SubmitAsync(Recipe(model, steps));
        var running = await GetWhenAsync($"/api/orchestrator/builds/{buildId}", b => Stage(b, "pretrain").GetProperty("state").GetString() == "Running"
            || b.GetProperty("state").GetString() != "Running", TimeSpan.FromSeconds(90), "pretraining to start");
        var runId = running.GetProperty("runId").GetString()!;
        await GetWhenAsync($"/api/trainer/runs/{runId}", r => r.GetProperty("step").GetInt64() > 0 || r.GetProperty("state").GetString() is not ("Queued" or "Running"),
            TimeSpan.FromSeconds(60), "the trainer to take its first steps");

        await forge.Service("orchestrator").KillAsync();
        // Mid-build for real: the trainer carries on without the orchestrator, whose events wait in its queues.
        var whileDown = await Gateway.GetFromJsonAsync<JsonElement>($"/api/trainer/runs/{runId}");
        Assert.True(whileDown.GetProperty("state").GetString() == "Running", $"the run was not running when the orchestrator was killed: {whileDown}");
        if (backAfterTheRunEnded)
            await GetWhenAsync($"/api/trainer/runs/{runId}", r => r.GetProperty("state").GetString() is not ("Queued" or "Running"), TimeSpan.FromSeconds(90), "the run to end");
        await forge.StartAgainAsync("orchestrator");
        var build = await FinishedAsync(buildId, TimeSpan.FromSeconds(120));
        output.WriteLine($"killed at step {whileDown.GetProperty("step")} of {steps}; pretrain: {Stage(build, "pretrain")}");

        Assert.True(build.GetProperty("state").GetString() == "Completed", build.ToString());
        var stages = build.GetProperty("stages").EnumerateArray().ToDictionary(s => s.GetProperty("name").GetString()!);
        Assert.Equal(StageNames, stages.Keys);
        Assert.All(stages.Values, s => Assert.Equal("Completed", s.GetProperty("state").GetString()));
        // Stages before the kill sent their command once; the resumed one may have sent it again (a resend, not a rerun:
        // the trainer found its run and carried on), and nothing was sent a third time.
        var attempts = stages.ToDictionary(s => s.Key, s => s.Value.GetProperty("attempts").GetInt32());
        Assert.All(attempts.Where(a => a.Key != "pretrain" && a.Value > 0), a => Assert.Equal(1, a.Value));
        Assert.InRange(attempts["pretrain"], 1, 2);

        // What each service holds for the build shows that nothing ran twice.
        var datasetId = build.GetProperty("datasetId").GetString()!;
        var batchIds = build.GetProperty("batchIds").EnumerateArray().Select(b => b.GetString()!).ToList();
        var dataset = await Gateway.GetFromJsonAsync<JsonElement>($"/api/ingestion/datasets/{datasetId}");
        Assert.Equal(2, batchIds.Count); // one per file: the quotes and the notes
        Assert.Equal(batchIds.Order(), dataset.GetProperty("batches").EnumerateArray().Select(b => b.GetProperty("id").GetString()!).Order());
        Assert.Equal(201, dataset.GetProperty("totals").GetProperty("documents").GetInt32());
        var versions = await Gateway.GetFromJsonAsync<JsonElement>($"/api/cleaning/datasets/{datasetId}/versions");
        Assert.Single(versions.EnumerateArray());
        var datasetVersion = build.GetProperty("datasetVersion").GetString();
        var tokenizers = (await Gateway.GetFromJsonAsync<JsonElement>("/api/tokenizer/tokenizers")).EnumerateArray()
            .Where(t => t.GetProperty("datasetVersion").GetString() == datasetVersion).ToList();
        Assert.Equal([build.GetProperty("tokenizerId").GetString()], tokenizers.Select(t => t.GetProperty("id").GetString()));
        var runs = (await Gateway.GetFromJsonAsync<JsonElement>("/api/trainer/runs")).EnumerateArray()
            .Where(r => r.GetProperty("datasetVersion").GetString() == datasetVersion).ToList();
        var run = Assert.Single(runs);
        Assert.Equal(runId, run.GetProperty("id").GetString());
        Assert.Equal("Completed", run.GetProperty("state").GetString());
        Assert.Equal(steps, run.GetProperty("step").GetInt64());
        var segment = Assert.Single(run.GetProperty("segments").EnumerateArray());
        Assert.Equal(DistributedForge.TrainerReplica, segment.GetProperty("owner").GetString());
        Assert.Equal(0, segment.GetProperty("fromStep").GetInt64());
        var models = await Gateway.GetFromJsonAsync<JsonElement>($"/api/orchestrator/models?model={model}");
        Assert.Equal([$"{model}@1"], models.EnumerateArray().Select(m => m.GetProperty("id").GetString()));
        var evaluations = await Gateway.GetFromJsonAsync<JsonElement>($"/api/evaluator/evaluations?modelVersionId={model}@1");
        Assert.Single(evaluations.EnumerateArray());
        await AssertServedAsync(model);
    }

    /// <summary>A fortune-style file ('%' between quotes) and a plain text file, in a folder of their own.</summary>
    private void WriteCorpus(int documents) => CorpusGenerator.WriteFortuneFolder(_folder.Path, documents);

    private static string Recipe(string name, int steps, string extra = "") => $"""
        name: {name}
        useCase: a distributed end-to-end test
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
          contextLength: 32
          dropout: 0
        training:
          batchSize: 4
          maxSteps: {steps}
          warmupSteps: 5
          decaySteps: {steps}
          evaluationInterval: 0
          logInterval: {Math.Max(5, steps / 40)}
        evaluation:
          metrics:
            - evalSet: validation
              metric: perplexity
              threshold: 1000
        {extra}
        """;

    private async Task<string> SubmitAsync(string recipe)
    {
        using var response = await Gateway.PostAsJsonAsync("/api/orchestrator/builds", new { recipe, baseFolder = _folder.Path });
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.Accepted, $"expected 202, got {(int)response.StatusCode}: {body}");
        return JsonDocument.Parse(body).RootElement.GetProperty("id").GetString()!;
    }

    private Task<JsonElement> FinishedAsync(string buildId, TimeSpan timeout) =>
        GetWhenAsync($"/api/orchestrator/builds/{buildId}", b => b.GetProperty("state").GetString() != "Running", timeout, "the build to end");

    private async Task AssertServedAsync(string model)
    {
        var family = await Gateway.GetFromJsonAsync<JsonElement>($"/api/orchestrator/families/{model}");
        Assert.Equal($"{model}@1", family.GetProperty("promotedVersionId").GetString());
        await GetWhenAsync("/v1/models", m => m.GetProperty("data").EnumerateArray().Any(x => x.GetProperty("id").GetString() == model),
            TimeSpan.FromSeconds(30), $"the inference service to serve {model}");
        using var completion = await Gateway.PostAsJsonAsync("/v1/completions", new { model, prompt = "the", max_tokens = 8 });
        var body = await completion.Content.ReadAsStringAsync();
        Assert.True(completion.StatusCode == HttpStatusCode.OK, body);
        var choice = Assert.Single(JsonDocument.Parse(body).RootElement.GetProperty("choices").EnumerateArray());
        Assert.False(string.IsNullOrEmpty(choice.GetProperty("text").GetString()), body);
    }

    private static JsonElement Stage(JsonElement build, string name) =>
        build.GetProperty("stages").EnumerateArray().Single(s => s.GetProperty("name").GetString() == name);

    /// <summary>
    /// Polls a GET through the gateway until <paramref name="condition"/> holds. Answers other than 200 count as not yet:
    /// while a service is down (or until the gateway's health check sees it back) the gateway answers 502 or 503.
    /// </summary>
    private Task<JsonElement> GetWhenAsync(string path, Func<JsonElement, bool> condition, TimeSpan timeout, string what) =>
        Eventually.WaitAsync(() => TryGetAsync(path), j => j.ValueKind == JsonValueKind.Object && condition(j), timeout, what);

    private Task<JsonElement> GetWhenFoundAsync(string path, TimeSpan timeout, string what) => GetWhenAsync(path, _ => true, timeout, what);

    private async Task<JsonElement> TryGetAsync(string path)
    {
        try
        {
            using var response = await Gateway.GetAsync(path);
            return response.IsSuccessStatusCode ? await response.Content.ReadFromJsonAsync<JsonElement>() : default;
        }
        catch (HttpRequestException)
        {
            return default;
        }
    }

    public void Dispose()
    {
        // Shown when a test fails: what each service said last (without the request log lines of the polling).
        foreach (var process in forge.Processes)
        {
            var lines = process.Output.Split('\n').Where(l => !l.Contains("RequestLoggingMiddleware", StringComparison.Ordinal));
            output.WriteLine($"--- {process.Name}\n{string.Join('\n', lines.TakeLast(40))}");
        }
        _folder.Dispose();
    }
}
