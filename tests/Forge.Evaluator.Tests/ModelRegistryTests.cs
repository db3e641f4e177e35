using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Forge.Contracts;
using Forge.Orchestrator.Domain;
using Forge.Testing;
using MassTransit;
using Microsoft.Extensions.DependencyInjection;

namespace Forge.Evaluator.Tests;

public sealed class ModelRegistryTests(ServicesHost services) : IClassFixture<ServicesHost>
{
    private readonly HttpClient _client = services.Client;

    private static string UniqueModel(string stem) => $"{stem}-{Guid.NewGuid():N}"[..20];

    private static object Candidate(string model, string run, object? metrics = null, bool autoPromote = false) => new
    {
        model,
        runId = run,
        checkpointKey = $"runs/{run}/checkpoints/step-1000",
        tokenizerId = "bpe-8k",
        datasetVersions = new[] { "notes@1", "wiki@3" },
        metrics,
        autoPromote,
        by = "trainer",
    };

    /// <summary>qa: BLEU (maximised) with a floor of 20; heldout: perplexity (minimised) with a ceiling of 50.</summary>
    private static readonly object Policy = new
    {
        gates = new object[]
        {
            new { evalSet = "qa", metric = "bleu", threshold = 20.0 },
            new { evalSet = "heldout", metric = "perplexity", threshold = 50.0 },
        },
        mustBeatPromoted = true,
    };

    private static Dictionary<string, object> Scores(double bleu, double perplexity) =>
        new Dictionary<string, object> { ["qa"] = new { bleu }, ["heldout"] = new { perplexity } };

    private async Task<string> RegisterAsync(object candidate) =>
        (await _client.PostJsonAsync("/api/orchestrator/models", candidate).ExpectAsync(HttpStatusCode.Created)).GetProperty("id").GetString()!;

    private Task<HttpResponseMessage> PromoteAsync(string id, string by = "alice", string reason = "better answers") =>
        _client.PostJsonAsync($"/api/orchestrator/models/{id}/promote", new { by, reason });

    private Task<JsonElement> GetAsync(string path) => _client.GetAsync(new Uri(path, UriKind.Relative)).ExpectAsync(HttpStatusCode.OK);

    private static string State(JsonElement version) => version.GetProperty("state").GetString()!;

    [Fact]
    public async Task ARegisteredCandidateKeepsItsLineageMetricsAndARegistrationEntry()
    {
        var model = UniqueModel("lineage");

        var created = await _client.PostJsonAsync("/api/orchestrator/models", Candidate(model, "run-1", Scores(25, 30))).ExpectAsync(HttpStatusCode.Created);
        var shown = await GetAsync($"/api/orchestrator/models/{created.GetProperty("id").GetString()}");

        Assert.Equal($"{model}@1", shown.GetProperty("id").GetString());
        Assert.Equal("Candidate", State(shown));
        Assert.Equal("run-1", shown.GetProperty("runId").GetString());
        Assert.Equal("runs/run-1/checkpoints/step-1000", shown.GetProperty("checkpointKey").GetString());
        Assert.Equal("bpe-8k", shown.GetProperty("tokenizerId").GetString());
        Assert.Equal(["notes@1", "wiki@3"], shown.GetProperty("datasetVersions").EnumerateArray().Select(d => d.GetString()));
        Assert.Equal(30, shown.GetProperty("metrics").GetProperty("heldout").GetProperty("perplexity").GetDouble());
        var entry = Assert.Single(shown.GetProperty("history").EnumerateArray());
        Assert.Equal("trainer", entry.GetProperty("by").GetString());
        Assert.Equal("Candidate", entry.GetProperty("to").GetString());
        await Eventually.WaitAsync(() => Task.FromResult(services.Events.Of<ModelVersionRegistered>().Any(e => e.ModelVersionId == $"{model}@1")), seen => seen, TimeSpan.FromSeconds(10), "ModelVersionRegistered");
    }

    [Fact]
    public async Task RegisteringTheSameCheckpointAgainAnswersTheFirstVersion()
    {
        var model = UniqueModel("retry");
        var first = await RegisterAsync(Candidate(model, "run-1"));

        var again = await _client.PostJsonAsync("/api/orchestrator/models", Candidate(model, "run-1")).ExpectAsync(HttpStatusCode.OK);
        var next = await RegisterAsync(Candidate(model, "run-2"));

        Assert.Equal(first, again.GetProperty("id").GetString());
        Assert.Equal($"{model}@2", next);
    }

    [Theory]
    [InlineData("model", "Not A Name", "$.model")]
    [InlineData("runId", "", "$.runId")]
    [InlineData("checkpointKey", "/absolute", "$.checkpointKey")]
    [InlineData("tokenizerId", null, "$.tokenizerId")]
    public async Task ARegistrationMissingAFieldIsRefusedNamingIt(string property, string? value, string field)
    {
        var body = new Dictionary<string, object?>
        {
            ["model"] = UniqueModel("bad"), ["runId"] = "run-1", ["checkpointKey"] = "runs/run-1/checkpoints/step-1", ["tokenizerId"] = "bpe", ["datasetVersions"] = new[] { "d@1" },
        };
        body[property] = value;

        await _client.PostJsonAsync("/api/orchestrator/models", body).ExpectInvalidAsync(field);
    }

    [Fact]
    public async Task ARegistrationWithoutDatasetVersionsOrWithABadMetricNameIsRefused()
    {
        await _client.PostJsonAsync("/api/orchestrator/models", new { model = UniqueModel("x"), runId = "r", checkpointKey = "k/1", tokenizerId = "t", datasetVersions = Array.Empty<string>() })
            .ExpectInvalidAsync("$.datasetVersions");
        await _client.PostJsonAsync("/api/orchestrator/models", new { model = UniqueModel("x"), runId = "r", checkpointKey = "k/1", tokenizerId = "t", datasetVersions = new[] { "d@1" }, metrics = new { qa = new Dictionary<string, double> { ["bad.name"] = 1 } } })
            .ExpectInvalidAsync("$.metrics.qa.bad.name");
    }

    [Fact]
    public async Task AnUnknownModelVersionOrModelIsNotFound()
    {
        await _client.GetAsync(new Uri("/api/orchestrator/models/nobody@1", UriKind.Relative)).ExpectAsync(HttpStatusCode.NotFound);
        await PromoteAsync("nobody@1").ExpectAsync(HttpStatusCode.NotFound);
        await _client.PostJsonAsync("/api/orchestrator/models/nobody@1/metrics", new { evalSet = "qa", metrics = new { bleu = 1.0 } }).ExpectAsync(HttpStatusCode.NotFound);
        await _client.PostJsonAsync("/api/orchestrator/models/rollback", new { model = "nobody", by = "alice", reason = "bad" }).ExpectAsync(HttpStatusCode.NotFound);
        await _client.GetAsync(new Uri("/api/orchestrator/families/nobody", UriKind.Relative)).ExpectAsync(HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task APromotionMustSayWhoAndWhy()
    {
        var id = await RegisterAsync(Candidate(UniqueModel("who"), "run-1"));

        await PromoteAsync(id, by: "", reason: "x").ExpectInvalidAsync("$.by");
        await PromoteAsync(id, by: "alice", reason: " ").ExpectInvalidAsync("$.reason");
    }

    [Fact]
    public async Task AWorseCandidateIsRefusedWithEveryReasonAndKeepsItsState()
    {
        var model = UniqueModel("worse");
        await _client.PutAsJsonAsync($"/api/orchestrator/families/{model}/policy", Policy).ExpectAsync(HttpStatusCode.OK);
        var incumbent = await RegisterAsync(Candidate(model, "run-1", Scores(bleu: 25, perplexity: 30)));
        await PromoteAsync(incumbent).ExpectAsync(HttpStatusCode.OK);
        var worse = await RegisterAsync(Candidate(model, "run-2", Scores(bleu: 22, perplexity: 35)));

        var problem = await PromoteAsync(worse).ExpectAsync(HttpStatusCode.Conflict);

        var reasons = problem.GetProperty("reasons").EnumerateArray().Select(r => r.GetString()!).ToList();
        Assert.Equal(2, reasons.Count);
        Assert.Contains(reasons, r => r.Contains("bleu on qa is 22, worse than 25", StringComparison.Ordinal));
        Assert.Contains(reasons, r => r.Contains("perplexity on heldout is 35, worse than 30", StringComparison.Ordinal));
        Assert.Equal("Candidate", State(await GetAsync($"/api/orchestrator/models/{worse}")));
        Assert.Equal(incumbent, (await GetAsync($"/api/orchestrator/families/{model}")).GetProperty("promotedVersionId").GetString());
        await Eventually.WaitAsync(() => Task.FromResult(services.Events.Of<PromotionRefused>().Any(e => e.ModelVersionId == worse)), seen => seen, TimeSpan.FromSeconds(10), "PromotionRefused");
    }

    [Fact]
    public async Task ACandidateOutsideAThresholdOrWithoutAGatedMetricIsRefused()
    {
        var model = UniqueModel("floor");
        await _client.PutAsJsonAsync($"/api/orchestrator/families/{model}/policy", Policy).ExpectAsync(HttpStatusCode.OK);
        var lowBleu = await RegisterAsync(Candidate(model, "run-1", Scores(bleu: 15, perplexity: 60)));
        var unmeasured = await RegisterAsync(Candidate(model, "run-2", new Dictionary<string, object> { ["qa"] = new { bleu = 30.0 } }));

        var first = await PromoteAsync(lowBleu).ExpectAsync(HttpStatusCode.Conflict);
        var second = await PromoteAsync(unmeasured).ExpectAsync(HttpStatusCode.Conflict);

        Assert.Equal(
            ["bleu on qa is 15, below the minimum 20", "perplexity on heldout is 60, above the maximum 50"],
            first.GetProperty("reasons").EnumerateArray().Select(r => r.GetString()));
        Assert.Equal(["perplexity on heldout has not been measured"], second.GetProperty("reasons").EnumerateArray().Select(r => r.GetString()));
    }

    [Fact]
    public async Task ABetterCandidateIsPromotedAndRetiresThePromotedOne()
    {
        var model = UniqueModel("better");
        await _client.PutAsJsonAsync($"/api/orchestrator/families/{model}/policy", Policy).ExpectAsync(HttpStatusCode.OK);
        var first = await RegisterAsync(Candidate(model, "run-1", Scores(bleu: 25, perplexity: 30)));
        await PromoteAsync(first).ExpectAsync(HttpStatusCode.OK);
        var better = await RegisterAsync(Candidate(model, "run-2", Scores(bleu: 27, perplexity: 30)));

        var promotion = await PromoteAsync(better, by: "bob", reason: "two BLEU points up").ExpectAsync(HttpStatusCode.OK);

        Assert.Equal("Promoted", State(promotion.GetProperty("version")));
        Assert.Equal(first, promotion.GetProperty("retiredVersionId").GetString());
        Assert.Equal("Retired", State(await GetAsync($"/api/orchestrator/models/{first}")));
        var promoted = await GetAsync($"/api/orchestrator/models?model={model}&state=promoted");
        Assert.Equal(better, Assert.Single(promoted.EnumerateArray()).GetProperty("id").GetString());
        await Eventually.WaitAsync(() => Task.FromResult(services.Events.Of<ModelPromoted>().Any(e => e.ModelVersionId == better && e.RetiredVersionId == first && e.By == "bob")),
            seen => seen, TimeSpan.FromSeconds(10), "ModelPromoted");
    }

    [Fact]
    public async Task EqualMetricsAreNotBetterThanThePromotedVersion()
    {
        var model = UniqueModel("equal");
        await _client.PutAsJsonAsync($"/api/orchestrator/families/{model}/policy", Policy).ExpectAsync(HttpStatusCode.OK);
        await PromoteAsync(await RegisterAsync(Candidate(model, "run-1", Scores(bleu: 25, perplexity: 30)))).ExpectAsync(HttpStatusCode.OK);
        var same = await RegisterAsync(Candidate(model, "run-2", Scores(bleu: 25, perplexity: 30)));

        var problem = await PromoteAsync(same).ExpectAsync(HttpStatusCode.Conflict);

        Assert.Contains("no gated metric is better", problem.GetProperty("reasons")[0].GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task RollbackRestoresThePreviousPromotedVersionAndHistoryRecordsWhoAndWhy()
    {
        var model = UniqueModel("rollback");
        var v1 = await RegisterAsync(Candidate(model, "run-1"));
        var v2 = await RegisterAsync(Candidate(model, "run-2"));
        var v3 = await RegisterAsync(Candidate(model, "run-3"));
        await PromoteAsync(v1, "alice", "first release").ExpectAsync(HttpStatusCode.OK);
        await PromoteAsync(v2, "bob", "second release").ExpectAsync(HttpStatusCode.OK);
        await PromoteAsync(v3, "carol", "third release").ExpectAsync(HttpStatusCode.OK);

        var rollback = await _client.PostJsonAsync("/api/orchestrator/models/rollback", new { model, by = "dave", reason = "v3 answers in French" }).ExpectAsync(HttpStatusCode.OK);
        await _client.PostJsonAsync("/api/orchestrator/models/rollback", new { model, by = "erin", reason = "v2 too" }).ExpectAsync(HttpStatusCode.OK);
        var nothingLeft = await _client.PostJsonAsync("/api/orchestrator/models/rollback", new { model, by = "frank", reason = "and v1?" }).ExpectAsync(HttpStatusCode.Conflict);

        Assert.Equal(v2, rollback.GetProperty("restored").GetProperty("id").GetString());
        Assert.Equal(v3, rollback.GetProperty("retired").GetProperty("id").GetString());
        Assert.Contains("no earlier promoted version", nothingLeft.GetProperty("detail").GetString(), StringComparison.Ordinal);
        var family = await GetAsync($"/api/orchestrator/families/{model}");
        Assert.Equal(v1, family.GetProperty("promotedVersionId").GetString());

        var history = (await GetAsync($"/api/orchestrator/models/{v2}")).GetProperty("history").EnumerateArray()
            .Select(h => (h.GetProperty("by").GetString(), h.GetProperty("reason").GetString(), h.TryGetProperty("from", out var from) ? from.GetString() : null, h.GetProperty("to").GetString()))
            .ToList();
        Assert.Equal(
            [
                ("trainer", "registered", null, "Candidate"),
                ("bob", "second release", "Candidate", "Promoted"),
                ("carol", "third release", "Promoted", "Retired"),
                ("dave", "v3 answers in French", "Retired", "Promoted"),
                ("erin", "v2 too", "Promoted", "Retired"),
            ],
            history);
        Assert.Equal("Retired", State(await GetAsync($"/api/orchestrator/models/{v3}")));
        await Eventually.WaitAsync(() => Task.FromResult(services.Events.Of<ModelRolledBack>().Any(e => e.Model == model && e.RetiredVersionId == v3 && e.RestoredVersionId == v2)),
            seen => seen, TimeSpan.FromSeconds(10), "ModelRolledBack");
    }

    [Fact]
    public async Task APromotionInterruptedAfterItsCommitIsFinishedByTheNextOperation()
    {
        var model = UniqueModel("resume");
        var v1 = await RegisterAsync(Candidate(model, "run-1"));
        var v2 = await RegisterAsync(Candidate(model, "run-2"));
        // The family's compare-and-swap commits a promotion; a crash right after it leaves v1's own record a candidate.
        var store = services.Services.GetRequiredService<RegistryStore>();
        var family = (await store.Families.GetAsync(model))!;
        var change = new StateChange { Revision = family.Revision + 1, PromotedVersionId = v1, By = "alice", Reason = "first release", At = DateTime.UtcNow };
        Assert.True(await store.Families.TryReplaceAsync(family with { Revision = change.Revision, PromotedVersionId = v1, LastChange = change }, f => f.Revision == family.Revision));
        Assert.Equal("Candidate", State(await GetAsync($"/api/orchestrator/models/{v1}")));

        var promotion = await PromoteAsync(v2, "bob", "second release").ExpectAsync(HttpStatusCode.OK);

        Assert.Equal(v1, promotion.GetProperty("retiredVersionId").GetString());
        var history = (await GetAsync($"/api/orchestrator/models/{v1}")).GetProperty("history").EnumerateArray()
            .Select(h => (h.GetProperty("by").GetString(), h.GetProperty("to").GetString()))
            .ToList();
        Assert.Equal([("trainer", "Candidate"), ("alice", "Promoted"), ("bob", "Retired")], history);
    }

    [Fact]
    public async Task ConcurrentPromotionsLeaveExactlyOnePromotedVersion()
    {
        var model = UniqueModel("race");
        var ids = new List<string>();
        for (var i = 0; i < 8; i++)
            ids.Add(await RegisterAsync(Candidate(model, $"run-{i}")));

        var responses = await Task.WhenAll(ids.Concat(ids).Select(id => PromoteAsync(id, "ci", "race")));

        Assert.All(responses, r => Assert.Equal(HttpStatusCode.OK, r.StatusCode));
        var versions = (await GetAsync($"/api/orchestrator/models?model={model}")).EnumerateArray().ToList();
        var promoted = Assert.Single(versions, v => State(v) == "Promoted");
        var family = await GetAsync($"/api/orchestrator/families/{model}");
        Assert.Equal(promoted.GetProperty("id").GetString(), family.GetProperty("promotedVersionId").GetString());
        Assert.Equal(7, versions.Count(v => State(v) == "Retired"));
        Assert.Equal(7, family.GetProperty("previouslyPromoted").GetArrayLength());
    }

    [Fact]
    public async Task ConcurrentGatedPromotionsLeaveTheBestVersionPromoted()
    {
        var model = UniqueModel("best");
        await _client.PutAsJsonAsync($"/api/orchestrator/families/{model}/policy", Policy).ExpectAsync(HttpStatusCode.OK);
        var ids = new List<string>();
        foreach (var bleu in new[] { 31.0, 24.0, 38.0, 22.0, 35.0, 29.0 })
            ids.Add(await RegisterAsync(Candidate(model, $"run-{bleu}", Scores(bleu, perplexity: 30))));

        var responses = await Task.WhenAll(ids.Select(id => PromoteAsync(id, "ci", "race")));

        Assert.All(responses, r => Assert.Contains(r.StatusCode, new[] { HttpStatusCode.OK, HttpStatusCode.Conflict }));
        var promoted = Assert.Single((await GetAsync($"/api/orchestrator/models?model={model}&state=promoted")).EnumerateArray());
        Assert.Equal(38.0, promoted.GetProperty("metrics").GetProperty("qa").GetProperty("bleu").GetDouble());
    }

    [Fact]
    public async Task AnEvaluationOfAnAutoPromotedCandidatePromotesItOnceItPassesEveryGate()
    {
        var model = UniqueModel("auto");
        await _client.PutAsJsonAsync($"/api/orchestrator/families/{model}/policy", Policy).ExpectAsync(HttpStatusCode.OK);
        var id = await RegisterAsync(Candidate(model, "run-1", autoPromote: true));
        var bus = services.Services.GetRequiredService<IBus>();

        await bus.Publish(new EvaluationCompleted("e1", id, "qa", new Dictionary<string, double> { ["bleu"] = 26 }, DateTime.UtcNow));
        await Eventually.WaitAsync(() => Task.FromResult(services.Events.Of<PromotionRefused>().Any(e => e.ModelVersionId == id)), seen => seen, TimeSpan.FromSeconds(10), "the first refusal");
        await bus.Publish(new EvaluationCompleted("e2", id, "heldout", new Dictionary<string, double> { ["perplexity"] = 41 }, DateTime.UtcNow));

        var version = await Eventually.WaitAsync(() => GetAsync($"/api/orchestrator/models/{id}"), v => State(v) == "Promoted", TimeSpan.FromSeconds(10), "auto-promotion");
        Assert.Equal(26, version.GetProperty("metrics").GetProperty("qa").GetProperty("bleu").GetDouble());
        Assert.Equal("registry", version.GetProperty("history")[1].GetProperty("by").GetString());

        await bus.Publish(new EvaluationCompleted("e2", id, "heldout", new Dictionary<string, double> { ["perplexity"] = 41 }, DateTime.UtcNow));
        await Task.Delay(500);
        Assert.Equal(2, (await GetAsync($"/api/orchestrator/models/{id}")).GetProperty("history").GetArrayLength());
        Assert.Single(services.Events.Of<PromotionRefused>(), e => e.ModelVersionId == id);
    }

    [Fact]
    public async Task OutputsScoredForAModelVersionReachTheRegistry()
    {
        var model = UniqueModel("flow");
        var evalSet = $"flow-{Guid.NewGuid():N}"[..16];
        await _client.PostRawAsync($"/api/evaluator/evalsets/{evalSet}", "{\"prompt\": \"p1\", \"references\": [\"the dog bit the man\"]}\n{\"prompt\": \"p2\", \"references\": [\"the cat sat\"]}\n")
            .ExpectAsync(HttpStatusCode.Created);
        await _client.PutAsJsonAsync($"/api/orchestrator/families/{model}/policy", new { gates = new[] { new { evalSet, metric = "rougeL", threshold = 0.5 } } })
            .ExpectAsync(HttpStatusCode.OK);
        var id = await RegisterAsync(Candidate(model, "run-1", autoPromote: true));

        var report = await _client.PostJsonAsync($"/api/evaluator/evalsets/{evalSet}/evaluations", new { modelVersionId = id, outputs = new[] { "the dog bit the man", "a cat sat" } })
            .ExpectAsync(HttpStatusCode.Created);

        var version = await Eventually.WaitAsync(() => GetAsync($"/api/orchestrator/models/{id}"), v => State(v) == "Promoted", TimeSpan.FromSeconds(10), "promotion from the evaluation");
        Assert.Equal(report.GetProperty("metrics").GetProperty("rougeL").GetDouble(), version.GetProperty("metrics").GetProperty(evalSet).GetProperty("rougeL").GetDouble());
    }
}
