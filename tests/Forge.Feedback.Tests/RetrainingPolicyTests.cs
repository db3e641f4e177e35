using System.Net;
using System.Text;
using System.Text.Json;
using Forge.Contracts;
using Forge.Feedback.Domain;
using Forge.Storage.Artifacts;
using Forge.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace Forge.Feedback.Tests;

public sealed class RetrainingPolicyTests(ServicesHost services) : IClassFixture<ServicesHost>
{
    private readonly HttpClient _client = services.Client;

    private static string UniqueModel(string stem) => $"{stem}-{Guid.NewGuid():N}"[..20];

    private Task<JsonElement> PutPolicyAsync(string model, object policy) =>
        _client.PutJsonAsync($"/api/feedback/models/{model}/policy", policy).ExpectAsync(HttpStatusCode.OK);

    private Task<JsonElement> PostAsync(string generationId, object body) =>
        _client.PostJsonAsync($"/api/feedback/generations/{generationId}", body).ExpectAsync(HttpStatusCode.Created);

    private async Task<IReadOnlyList<JsonElement>> RetrainingsAsync(string model) =>
        (await _client.GetJsonAsync($"/api/feedback/models/{model}/retrainings")).EnumerateArray().ToList();

    /// <summary>Waits until exactly the retraining requests recorded for the model have been published, then gives any extra one time to show up.</summary>
    private async Task<IReadOnlyList<RetrainingRequested>> PublishedAsync(string model, int expected)
    {
        await Eventually.WaitAsync(() => Task.FromResult(services.Events.Of<RetrainingRequested>().Count(e => e.Model == model)), count => count >= expected,
            TimeSpan.FromSeconds(10), $"{expected} RetrainingRequested for {model}");
        await Task.Delay(300);
        return services.Events.Of<RetrainingRequested>().Where(e => e.Model == model).ToList();
    }

    [Fact]
    public async Task APolicyIsStoredWithItsDefaultsAndReadBack()
    {
        var model = UniqueModel("policy");

        var stored = await PutPolicyAsync(model, new { minNewFeedback = 50, ratingBelow = 2.5 });
        var read = await _client.GetJsonAsync($"/api/feedback/models/{model}/policy");

        Assert.Equal(stored.ToString(), read.ToString());
        Assert.Equal(50, read.GetProperty("minNewFeedback").GetInt32());
        Assert.Equal(1, read.GetProperty("minNewExamples").GetInt32());
        Assert.Equal(2.5, read.GetProperty("ratingBelow").GetDouble());
        Assert.Equal(10, read.GetProperty("minRatings").GetInt32());
        Assert.True(read.GetProperty("enabled").GetBoolean());
        await _client.PutJsonAsync($"/api/feedback/models/{model}/policy", read.GetRawText()).ExpectAsync(HttpStatusCode.OK);
        await _client.GetAsync(new Uri($"/api/feedback/models/{UniqueModel("none")}/policy", UriKind.Relative)).ExpectAsync(HttpStatusCode.NotFound);
    }

    [Theory]
    [InlineData("""{"minNewExamples": 1}""", "$.minNewFeedback")]
    [InlineData("""{"minNewFeedback": 0}""", "$.minNewFeedback")]
    [InlineData("""{"minNewFeedback": "ten"}""", "$.minNewFeedback")]
    [InlineData("""{"minNewFeedback": 5, "minNewExamples": 6}""", "$.minNewExamples")]
    [InlineData("""{"minNewFeedback": 5, "minNewExamples": 0}""", "$.minNewExamples")]
    [InlineData("""{"minNewFeedback": 5, "ratingBelow": 1}""", "$.ratingBelow")]
    [InlineData("""{"minNewFeedback": 5, "ratingBelow": 5.5}""", "$.ratingBelow")]
    [InlineData("""{"minNewFeedback": 5, "minRatings": 0}""", "$.minRatings")]
    [InlineData("""{"minNewFeedback": 5, "enabled": "yes"}""", "$.enabled")]
    [InlineData("""{"minNewFeedback": 5, "threshold": 3}""", "$.threshold")]
    public async Task AnInvalidPolicyIsRefusedNamingTheField(string policy, string field)
    {
        var model = UniqueModel("invalid");

        await _client.PutJsonAsync($"/api/feedback/models/{model}/policy", policy).ExpectInvalidAsync(field);

        await _client.GetAsync(new Uri($"/api/feedback/models/{model}/policy", UriKind.Relative)).ExpectAsync(HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task APolicyNeedsAModelNameTheRegistryAccepts() =>
        await _client.PutJsonAsync("/api/feedback/models/My%20Model/policy", new { minNewFeedback = 5 }).ExpectInvalidAsync("model");

    [Fact]
    public async Task ConcurrentFeedbackFiresThePolicyExactlyOncePerThreshold()
    {
        var model = UniqueModel("concurrent");
        await PutPolicyAsync(model, new { minNewFeedback = 10, minNewExamples = 5 });
        var generations = new List<string>();
        for (var i = 0; i < 4; i++)
            generations.Add(await services.GenerateAsync(model, $"{model}@1", $"question {i}", $"answer {i}"));

        // Twenty at once: the tenth and the twentieth counted cross the threshold, whichever requests they are.
        await Task.WhenAll(Enumerable.Range(0, 20).Select(i => PostAsync(generations[i % 4], new { kind = "thumbs", up = true })));

        var retrainings = await RetrainingsAsync(model);
        Assert.Equal(2, retrainings.Count);
        Assert.All(retrainings, r => Assert.Equal(10, r.GetProperty("newFeedback").GetInt32()));
        Assert.All(retrainings, r => Assert.Equal(10, r.GetProperty("newExamples").GetInt32()));
        Assert.Equal(2, (await PublishedAsync(model, 2)).Select(e => e.RetrainingId).Distinct().Count());

        for (var i = 0; i < 9; i++)
            await PostAsync(generations[i % 4], new { kind = "rating", rating = 5 });
        Assert.Equal(2, (await RetrainingsAsync(model)).Count);
        await PostAsync(generations[0], new { kind = "rating", rating = 5 });
        Assert.Equal(3, (await RetrainingsAsync(model)).Count);
        Assert.Equal(3, (await PublishedAsync(model, 3)).Count);
    }

    [Fact]
    public async Task ARetrainingWritesTheSftExportToTheArtifactStoreAndAnnouncesIt()
    {
        var model = UniqueModel("sft-file");
        await PutPolicyAsync(model, new { minNewFeedback = 4, minNewExamples = 2 });
        var first = await services.GenerateAsync(model, $"{model}@1", "Capital of France?", "Paris.");
        var second = await services.GenerateAsync(model, $"{model}@1", "Capital of Italy?", "Milan.");
        var newest = await services.GenerateAsync(model, $"{model}@2", "Capital of Spain?", "Madrid, «la capital».");
        await PostAsync(first, new { kind = "rating", rating = 5 });
        await PostAsync(second, new { kind = "correction", correction = "Rome." });
        await PostAsync(second, new { kind = "thumbs", up = false });
        Assert.Empty(await RetrainingsAsync(model));
        await PostAsync(newest, new { kind = "thumbs", up = true });

        var retraining = Assert.Single(await RetrainingsAsync(model));
        var announced = Assert.Single(await PublishedAsync(model, 1));
        var (export, lines) = await _client.GetJsonLinesAsync($"/api/feedback/models/{model}/export/sft");
        var artifacts = services.Services.GetRequiredService<IArtifactStore>();
        var file = Encoding.UTF8.GetString(await artifacts.ReadAllBytesAsync(announced.SftDataKey));

        Assert.Equal($"feedback/{model}/{announced.RetrainingId}/sft.jsonl", announced.SftDataKey);
        Assert.Equal(export, file);
        Assert.Equal(3, lines.Count);
        Assert.Contains("Madrid, «la capital».", file, StringComparison.Ordinal);
        Assert.Equal(3, announced.Examples);
        Assert.Equal($"{model}@2", announced.BaseVersionId);
        Assert.Contains("4 new feedback items, 3 of them SFT examples", announced.Reason, StringComparison.Ordinal);
        Assert.Equal(announced.RetrainingId, retraining.GetProperty("id").GetString());
        Assert.Equal(announced.SftDataKey, retraining.GetProperty("sftDataKey").GetString());
        Assert.Equal(4, retraining.GetProperty("newFeedback").GetInt32());
        Assert.Equal(3, retraining.GetProperty("newExamples").GetInt32());
        Assert.Equal(JsonValueKind.String, retraining.GetProperty("publishedAt").ValueKind);
    }

    [Fact]
    public async Task ALowMeanRatingOfTheServedVersionFiresOncePerFall()
    {
        var model = UniqueModel("low-rating");
        await PutPolicyAsync(model, new { minNewFeedback = 1000, ratingBelow = 3.0, minRatings = 3 });
        var old = await services.GenerateAsync(model, $"{model}@1", "Old question", "Old answer");
        var served = await services.GenerateAsync(model, $"{model}@2", "Question", "Answer");
        await PostAsync(old, new { kind = "rating", rating = 5 });

        await PostAsync(served, new { kind = "rating", rating = 2 });
        await PostAsync(served, new { kind = "rating", rating = 2 });
        Assert.Empty(await RetrainingsAsync(model));
        await PostAsync(served, new { kind = "rating", rating = 2 });
        var fired = Assert.Single(await RetrainingsAsync(model));
        await PostAsync(served, new { kind = "rating", rating = 1 });
        Assert.Single(await RetrainingsAsync(model));

        // The mean recovers to (2 + 2 + 2 + 1 + 4 * 5) / 8 = 3.375, then falls again to 2.9: a second fall.
        for (var i = 0; i < 4; i++)
            await PostAsync(served, new { kind = "rating", rating = 5 });
        await PostAsync(served, new { kind = "rating", rating = 1 });
        Assert.Single(await RetrainingsAsync(model));
        await PostAsync(served, new { kind = "rating", rating = 1 });

        var retrainings = await RetrainingsAsync(model);
        Assert.Equal(2, retrainings.Count);
        Assert.Equal($"{model}@2", fired.GetProperty("baseVersionId").GetString());
        Assert.Equal(3, fired.GetProperty("ratings").GetInt32());
        Assert.Equal(2.0, fired.GetProperty("meanRating").GetDouble());
        Assert.Contains($"mean rating of the served {model}@2 is 2 over 3 ratings, below 3", fired.GetProperty("reason").GetString(), StringComparison.Ordinal);
        Assert.Equal(10, retrainings[1].GetProperty("ratings").GetInt32());
        Assert.Equal(2.9, retrainings[1].GetProperty("meanRating").GetDouble(), 9);
        Assert.Equal(2, (await PublishedAsync(model, 2)).Count);
    }

    [Fact]
    public async Task ADisabledPolicyKeepsCountingButNeverFires()
    {
        var model = UniqueModel("disabled");
        await PutPolicyAsync(model, new { minNewFeedback = 2, enabled = false });
        var generation = await services.GenerateAsync(model, $"{model}@1", "Q", "A");
        for (var i = 0; i < 3; i++)
            await PostAsync(generation, new { kind = "thumbs", up = true });
        Assert.Empty(await RetrainingsAsync(model));

        await PutPolicyAsync(model, new { minNewFeedback = 2, enabled = true });
        await PostAsync(generation, new { kind = "thumbs", up = true });

        var retraining = Assert.Single(await RetrainingsAsync(model));
        Assert.Equal(4, retraining.GetProperty("newFeedback").GetInt32());
    }

    [Fact]
    public async Task ARetrainingInterruptedHalfWayIsFinishedByTheSweepOnce()
    {
        var model = UniqueModel("interrupted");
        await PutPolicyAsync(model, new { minNewFeedback = 1000 });
        var generation = await services.GenerateAsync(model, $"{model}@1", "Q", "A");
        await PostAsync(generation, new { kind = "correction", correction = "Better A" });
        var now = DateTime.UtcNow;
        RetrainingDecision Decision(string id, DateTime at) => new() { Id = id, BaseVersionId = $"{model}@1", Reason = "test", NewFeedback = 1, NewExamples = 1, DecidedAt = at };
        var stale = Decision(Guid.NewGuid().ToString("N"), now - TimeSpan.FromMinutes(1));
        var fresh = Decision(Guid.NewGuid().ToString("N"), now);
        var state = (await services.Store.Models.GetAsync(model))!;
        Assert.True(await services.Store.Models.TryReplaceAsync(state with { Revision = state.Revision + 1, Pending = [stale, fresh] }, m => m.Revision == state.Revision));
        var sweep = services.Services.GetRequiredService<PendingRetrainingDispatcher>();

        Assert.Equal(1, await sweep.DispatchAsync(CancellationToken.None));
        Assert.Equal(0, await sweep.DispatchAsync(CancellationToken.None));

        var retraining = Assert.Single(await RetrainingsAsync(model));
        Assert.Equal(stale.Id, retraining.GetProperty("id").GetString());
        Assert.Equal(1, retraining.GetProperty("examples").GetInt32());
        Assert.Equal([fresh.Id], (await services.Store.Models.GetAsync(model))!.Pending.Select(d => d.Id));
        var announced = Assert.Single(await PublishedAsync(model, 1));
        Assert.Equal(stale.Id, announced.RetrainingId);
        Assert.True(await services.Services.GetRequiredService<IArtifactStore>().ExistsAsync(announced.SftDataKey));
    }
}
