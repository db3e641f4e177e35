using System.Net;
using System.Text.Json;
using Forge.Contracts;

namespace Forge.Feedback.Tests;

/// <summary>
/// One known set of feedback on two versions of a model, given on two days, and what the summary and the three
/// exports make of it. The generations, in the order they first got feedback:
/// g1 (v1, "p1" → "o1"): thumbs up, rating 5 (two days earlier) — a good answer;
/// g2 (v1, "p2" → "o2"): thumbs down, rating 2, correction "c2" — a bad answer, corrected;
/// g3 (v2, "p1" → "o3"): thumbs up, rating 4, preferred over g1 — a good answer, and a win over v1;
/// g4 (v2, chat "p4" → "o4"): rating 3 (neutral), thumbs up — a good chat answer;
/// g5 (v2, "p5" → "o5"): rating 4, thumbs down — mixed, so neither an SFT example nor left out of the labels.
/// </summary>
public sealed class SummaryAndExportTests(ServicesHost services) : IClassFixture<ServicesHost>, IAsyncLifetime
{
    private static readonly DateTimeOffset FirstDay = new(2026, 3, 1, 9, 0, 0, TimeSpan.Zero);
    private static readonly DateTimeOffset SecondDay = FirstDay.AddDays(2);
    private static readonly IReadOnlyList<ChatTurn> Conversation = [new("system", "You answer in one word."), new("user", "p4")];

    private readonly HttpClient _client = services.Client;
    private readonly string _model = $"known-{Guid.NewGuid():N}"[..20];

    private string V1 => $"{_model}@1";
    private string V2 => $"{_model}@2";

    public async Task InitializeAsync()
    {
        services.Clock.Set(FirstDay);
        var g1 = await services.GenerateAsync(_model, V1, "p1", "o1");
        var g2 = await services.GenerateAsync(_model, V1, "p2", "o2");
        var g3 = await services.GenerateAsync(_model, V2, "p1", "o3");
        var g4 = await services.GenerateAsync(_model, V2, "p4", "o4", Conversation);
        var g5 = await services.GenerateAsync(_model, V2, "p5", "o5");
        await PostAsync(g1, new { kind = "thumbs", up = true });
        await PostAsync(g1, new { kind = "rating", rating = 5 });

        services.Clock.Set(SecondDay);
        await PostAsync(g2, new { kind = "thumbs", up = false });
        await PostAsync(g2, new { kind = "rating", rating = 2 });
        await PostAsync(g2, new { kind = "correction", correction = "c2" });
        await PostAsync(g3, new { kind = "thumbs", up = true });
        await PostAsync(g3, new { kind = "rating", rating = 4 });
        await PostAsync(g3, new { kind = "preference", otherGenerationId = g1, preferred = "this" });
        await PostAsync(g4, new { kind = "rating", rating = 3 });
        await PostAsync(g4, new { kind = "thumbs", up = true });
        await PostAsync(g5, new { kind = "rating", rating = 4 });
        await PostAsync(g5, new { kind = "thumbs", up = false });
    }

    public Task DisposeAsync() => Task.CompletedTask;

    private Task<JsonElement> PostAsync(string generationId, object body) =>
        _client.PostJsonAsync($"/api/feedback/generations/{generationId}", body).ExpectAsync(HttpStatusCode.Created);

    private static string Day(DateTimeOffset at) => at.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture);

    [Fact]
    public async Task TheSummaryCountsEachVersionsFeedbackAndItsDailyTrend()
    {
        var summary = await _client.GetJsonAsync($"/api/feedback/models/{_model}/summary");

        Assert.Equal(12, summary.GetProperty("feedback").GetInt32());
        var versions = summary.GetProperty("versions").EnumerateArray().ToList();
        Assert.Equal([V1, V2], versions.Select(v => v.GetProperty("modelVersionId").GetString()));

        var v1 = versions[0];
        Assert.Equal(5, v1.GetProperty("feedback").GetInt32());
        Assert.Equal(2, v1.GetProperty("byKind").GetProperty("thumbs").GetInt32());
        Assert.Equal(2, v1.GetProperty("byKind").GetProperty("rating").GetInt32());
        Assert.Equal(1, v1.GetProperty("byKind").GetProperty("correction").GetInt32());
        Assert.Equal(0, v1.GetProperty("byKind").GetProperty("preference").GetInt32());
        Assert.Equal(1, v1.GetProperty("thumbsUp").GetInt32());
        Assert.Equal(1, v1.GetProperty("thumbsDown").GetInt32());
        Assert.Equal(0.5, v1.GetProperty("thumbsUpRatio").GetDouble());
        Assert.Equal(2, v1.GetProperty("ratings").GetInt32());
        Assert.Equal(3.5, v1.GetProperty("meanRating").GetDouble());
        Assert.Equal(1, v1.GetProperty("corrections").GetInt32());
        Assert.Equal(0, v1.GetProperty("preferences").GetInt32());
        Assert.Equal(0, v1.GetProperty("preferenceWins").GetInt32());
        Assert.Equal(1, v1.GetProperty("preferenceLosses").GetInt32());
        var v1Trend = v1.GetProperty("trend").EnumerateArray().ToList();
        Assert.Equal([Day(FirstDay), Day(SecondDay)], v1Trend.Select(d => d.GetProperty("day").GetString()));
        Assert.Equal([2, 3], v1Trend.Select(d => d.GetProperty("feedback").GetInt32()));
        Assert.Equal([5.0, 2.0], v1Trend.Select(d => d.GetProperty("meanRating").GetDouble()));
        Assert.Equal([1.0, 0.0], v1Trend.Select(d => d.GetProperty("thumbsUpRatio").GetDouble()));

        var v2 = versions[1];
        Assert.Equal(7, v2.GetProperty("feedback").GetInt32());
        Assert.Equal(3, v2.GetProperty("byKind").GetProperty("thumbs").GetInt32());
        Assert.Equal(3, v2.GetProperty("byKind").GetProperty("rating").GetInt32());
        Assert.Equal(0, v2.GetProperty("byKind").GetProperty("correction").GetInt32());
        Assert.Equal(1, v2.GetProperty("byKind").GetProperty("preference").GetInt32());
        Assert.Equal(2, v2.GetProperty("thumbsUp").GetInt32());
        Assert.Equal(1, v2.GetProperty("thumbsDown").GetInt32());
        Assert.Equal(2.0 / 3, v2.GetProperty("thumbsUpRatio").GetDouble(), 9);
        Assert.Equal(3, v2.GetProperty("ratings").GetInt32());
        Assert.Equal(11.0 / 3, v2.GetProperty("meanRating").GetDouble(), 9);
        Assert.Equal(1, v2.GetProperty("preferences").GetInt32());
        Assert.Equal(1, v2.GetProperty("preferenceWins").GetInt32());
        Assert.Equal(0, v2.GetProperty("preferenceLosses").GetInt32());
        var v2Day = Assert.Single(v2.GetProperty("trend").EnumerateArray());
        Assert.Equal(Day(SecondDay), v2Day.GetProperty("day").GetString());
        Assert.Equal(7, v2Day.GetProperty("feedback").GetInt32());
        Assert.Equal(3, v2Day.GetProperty("thumbs").GetInt32());
    }

    [Fact]
    public async Task TheSftExportHoldsCorrectionsAndWellRatedAnswers()
    {
        var (_, lines) = await _client.GetJsonLinesAsync($"/api/feedback/models/{_model}/export/sft");

        Assert.Equal([("p1", "o1"), ("p2", "c2"), ("p1", "o3"), ("p4", "o4")], lines.Select(l => (Text(l, "prompt"), Text(l, "completion"))));
        Assert.All(lines.Take(3), l => Assert.False(l.TryGetProperty("messages", out _)));
        Assert.Equal(["system", "user", "assistant"], lines[3].GetProperty("messages").EnumerateArray().Select(m => Text(m, "role")));
        Assert.Equal(["You answer in one word.", "p4", "o4"], lines[3].GetProperty("messages").EnumerateArray().Select(m => Text(m, "content")));
        Assert.Equal(["prompt", "completion"], lines[0].EnumerateObject().Select(p => p.Name));
    }

    [Fact]
    public async Task ThePreferenceExportPairsPreferencesAndCorrections()
    {
        var (_, lines) = await _client.GetJsonLinesAsync($"/api/feedback/models/{_model}/export/preferences");

        Assert.Equal([("p2", "c2", "o2"), ("p1", "o3", "o1")], lines.Select(l => (Text(l, "prompt"), Text(l, "chosen"), Text(l, "rejected"))));
        Assert.All(lines, l => Assert.False(l.TryGetProperty("messages", out _)));
    }

    [Fact]
    public async Task TheUnpairedExportLabelsAnswersByThumbsAndClearRatings()
    {
        var (_, lines) = await _client.GetJsonLinesAsync($"/api/feedback/models/{_model}/export/unpaired");

        Assert.Equal(
            [("o1", true), ("o1", true), ("o2", false), ("o2", false), ("o3", true), ("o3", true), ("o4", true), ("o5", true), ("o5", false)],
            lines.Select(l => (Text(l, "completion"), l.GetProperty("label").GetBoolean())));
        Assert.Equal("p4", Text(lines[6], "prompt"));
        Assert.Equal(2, lines[6].GetProperty("messages").GetArrayLength());
    }

    [Fact]
    public async Task AnUnknownModelHasNoSummaryOrExport()
    {
        await _client.GetAsync(new Uri("/api/feedback/models/no-such-model/summary", UriKind.Relative)).ExpectAsync(HttpStatusCode.NotFound);
        await _client.GetAsync(new Uri("/api/feedback/models/no-such-model/export/sft", UriKind.Relative)).ExpectAsync(HttpStatusCode.NotFound);
    }

    private static string? Text(JsonElement element, string property) => element.GetProperty(property).GetString();
}
