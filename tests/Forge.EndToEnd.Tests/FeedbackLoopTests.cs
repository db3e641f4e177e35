using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Forge.Testing;

namespace Forge.EndToEnd.Tests;

/// <summary>The embedded host with short feedback fine-tunes, for the retraining loop.</summary>
public sealed class FeedbackLoopForge : EmbeddedForge
{
    protected override IReadOnlyDictionary<string, string?> Settings => new Dictionary<string, string?>
    {
        ["Orchestrator:Retraining:FineTune:MaxSteps"] = "60",
        ["Orchestrator:Retraining:FineTune:LearningRate"] = "0.002",
        ["Orchestrator:Retraining:FineTune:BatchSize"] = "8",
        ["Orchestrator:Retraining:FineTune:ReplayFraction"] = "0.75",
        ["Orchestrator:Retraining:FineTune:CheckpointInterval"] = "30",
    };
}

/// <summary>
/// The issue's loop, in the embedded mode over real HTTP: a served model generates; users correct its answers until
/// the feedback policy fires; the fine-tune on the corrections (with replay) runs, is evaluated on the held-out
/// shards and promoted through the family's gate; the next generation is served by the new version.
/// </summary>
public sealed class FeedbackLoopTests(FeedbackLoopForge forge) : IClassFixture<FeedbackLoopForge>
{
    private HttpClient Client => forge.Client;

    [Fact]
    public async Task CorrectionsRetrainTheModelAndTheNextGenerationUsesTheNewVersion()
    {
        var data = await ModelPipeline.PrepareDataAsync(Client, "bpe-loop");
        var first = await ModelPipeline.TrainPromotedAsync(Client, data, "loop", steps: 30);

        // A newer version must be better on held-out perplexity; three new feedback items with three examples fire retraining.
        using (var gate = await Client.PutAsJsonAsync("/api/orchestrator/families/loop/policy", new { gates = new[] { new { evalSet = "validation", metric = "perplexity" } }, mustBeatPromoted = true }))
            Assert.Equal(HttpStatusCode.OK, gate.StatusCode);
        using (var policy = await Client.PutAsJsonAsync("/api/feedback/models/loop/policy", new { minNewFeedback = 3, minNewExamples = 3 }))
            Assert.True(policy.IsSuccessStatusCode, await policy.Content.ReadAsStringAsync());

        var generations = new List<string>();
        for (var i = 0; i < 3; i++)
        {
            var answer = await ChatAsync($"tell me about the river {i}");
            Assert.Equal(first, answer.GetProperty("system_fingerprint").GetString());
            generations.Add(answer.GetProperty("id").GetString()!);
        }

        // Feedback on an unknown generation is 404; a bad rating or an empty correction is 422; a repeated key stores once.
        using (var unknown = await Client.PostAsJsonAsync("/api/feedback/generations/gen_unknown", new { kind = "thumbs", up = true }))
            Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        using (var badRating = await Client.PostAsJsonAsync($"/api/feedback/generations/{generations[0]}", new { kind = "rating", rating = 6 }))
            Assert.Equal(HttpStatusCode.UnprocessableEntity, badRating.StatusCode);
        using (var empty = await Client.PostAsJsonAsync($"/api/feedback/generations/{generations[0]}", new { kind = "correction", correction = "  " }))
            Assert.Equal(HttpStatusCode.UnprocessableEntity, empty.StatusCode);

        foreach (var (id, i) in generations.Select((g, i) => (g, i)))
        {
            for (var attempt = 0; attempt < 2; attempt++)
            {
                using var request = new HttpRequestMessage(HttpMethod.Post, $"/api/feedback/generations/{id}")
                {
                    Content = JsonContent.Create(new { kind = "correction", correction = $"the river {i} runs by the town of the bridge", user = "tester" }),
                };
                request.Headers.Add("Idempotency-Key", $"correction-{i}");
                using var response = await Client.SendAsync(request);
                Assert.True(response.StatusCode == (attempt == 0 ? HttpStatusCode.Created : HttpStatusCode.OK), await response.Content.ReadAsStringAsync());
            }
        }
        var items = await Client.GetFromJsonAsync<JsonElement>("/api/feedback/items?model=loop");
        Assert.Equal(3, items.GetArrayLength());

        var retrainings = await Eventually.WaitAsync(() => Client.GetFromJsonAsync<JsonElement>("/api/feedback/models/loop/retrainings"),
            r => r.GetArrayLength() == 1 && r[0].TryGetProperty("publishedAt", out var at) && at.ValueKind != JsonValueKind.Null, TimeSpan.FromSeconds(20), "the policy to fire");
        var retraining = retrainings[0];
        Assert.Equal(3, retraining.GetProperty("examples").GetInt32());
        var retrainingId = retraining.GetProperty("id").GetString()!;

        var run = await ModelPipeline.WaitFinishedAsync(Client, $"/api/trainer/runs/retrain-{retrainingId}", "the fine-tune to finish");
        Assert.True(run.GetProperty("state").GetString() == "Completed", run.ToString());
        Assert.Equal(first, run.GetProperty("baseVersionId").GetString());

        var versions = await Eventually.WaitAsync(() => Client.GetFromJsonAsync<JsonElement>("/api/orchestrator/models?model=loop"),
            v => v.EnumerateArray().Any(m => m.GetProperty("retrainingId").GetString() == retrainingId && m.GetProperty("metrics").TryGetProperty("validation", out _)),
            TimeSpan.FromSeconds(60), "the fine-tuned version to be registered and evaluated");
        var second = versions.EnumerateArray().Single(m => m.GetProperty("retrainingId").GetString() == retrainingId);
        // The registry promotes right after it records the metrics: give that write a moment before judging.
        var better = second.GetProperty("metrics").GetProperty("validation").GetProperty("perplexity").GetDouble()
            < versions.EnumerateArray().Single(m => m.GetProperty("id").GetString() == first).GetProperty("metrics").GetProperty("validation").GetProperty("perplexity").GetDouble();
        if (better)
        {
            versions = await Eventually.WaitAsync(() => Client.GetFromJsonAsync<JsonElement>("/api/orchestrator/models?model=loop"),
                v => v.EnumerateArray().Any(m => m.GetProperty("retrainingId").GetString() == retrainingId && m.GetProperty("state").GetString() == "Promoted"),
                TimeSpan.FromSeconds(20), "the better fine-tuned version to be promoted");
            second = versions.EnumerateArray().Single(m => m.GetProperty("retrainingId").GetString() == retrainingId);
        }
        Assert.Equal(first, second.GetProperty("baseVersionId").GetString());
        var secondId = second.GetProperty("id").GetString()!;
        var history = string.Join("; ", second.GetProperty("history").EnumerateArray().Select(h => h.GetProperty("reason").GetString()));
        var firstVersion = versions.EnumerateArray().Single(m => m.GetProperty("id").GetString() == first);
        Assert.True(second.GetProperty("state").GetString() == "Promoted",
            $"expected {secondId} (perplexity {second.GetProperty("metrics").GetProperty("validation").GetProperty("perplexity")}) to beat {first} " +
            $"(perplexity {firstVersion.GetProperty("metrics").GetProperty("validation").GetProperty("perplexity")}): {history}");

        // The inference service follows the promotion: the next generation is the new version's.
        var next = await Eventually.WaitAsync(() => ChatAsync("tell me about the river 0"),
            a => a.GetProperty("system_fingerprint").GetString() == secondId, TimeSpan.FromSeconds(20), "the new version to be served");
        var stored = await Client.GetFromJsonAsync<JsonElement>($"/api/inference/generations/{next.GetProperty("id").GetString()}");
        Assert.Equal(secondId, stored.GetProperty("modelVersionId").GetString());
    }

    private async Task<JsonElement> ChatAsync(string question)
    {
        using var response = await Client.PostAsJsonAsync("/v1/chat/completions", new
        {
            model = "loop",
            messages = new[] { new { role = "user", content = question } },
            max_tokens = 16,
            temperature = 0,
        });
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, text);
        return JsonDocument.Parse(text).RootElement.Clone();
    }
}
