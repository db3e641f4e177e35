using System.Diagnostics;
using System.Net;
using System.Text.Json;
using Forge.Contracts;
using Forge.Testing;

namespace Forge.Feedback.Tests;

public sealed class FeedbackApiTests(ServicesHost services) : IClassFixture<ServicesHost>
{
    private readonly HttpClient _client = services.Client;

    private static string UniqueModel(string stem) => $"{stem}-{Guid.NewGuid():N}"[..20];

    private static string FeedbackPath(string generationId) => $"/api/feedback/generations/{generationId}";

    private Task<HttpResponseMessage> PostAsync(string generationId, object body, params (string Name, string Value)[] headers) =>
        _client.PostJsonAsync(FeedbackPath(generationId), body, headers);

    private async Task<string> GenerateAsync(string prompt = "What is BPE?", string output = "A tokenizer.") =>
        await services.GenerateAsync(UniqueModel("api"), "api@1", prompt, output);

    private async Task<IReadOnlyList<JsonElement>> FeedbackOnAsync(string generationId) =>
        (await _client.GetJsonAsync(FeedbackPath(generationId))).GetProperty("feedback").EnumerateArray().ToList();

    [Fact]
    public async Task TheServiceInfoListsTheFeedbackRoutes()
    {
        var info = await _client.GetJsonAsync("/api/feedback");

        Assert.Equal("feedback", info.GetProperty("service").GetString());
        var endpoints = info.GetProperty("endpoints").EnumerateArray().Select(e => e.GetString()).ToList();
        Assert.Contains("POST|GET /api/feedback/generations/{generationId}", endpoints);
        Assert.Contains("PUT|GET /api/feedback/models/{model}/policy", endpoints);
        Assert.Equal(8, endpoints.Count);
    }

    [Fact]
    public async Task AGenerationIsStoredOnceWhenItsEventIsRedelivered()
    {
        var first = services.Generation(UniqueModel("redelivery"), "r@1", "Say hi.", "Hi!", [new ChatTurn("system", "Be brief."), new ChatTurn("user", "Say hi.")]);

        await services.PublishGenerationAsync(first);
        await services.WaitConsumedAsync(first.GenerationId, times: 1);
        await services.PublishGenerationAsync(first with { Output = "Hello there!" });
        await services.WaitConsumedAsync(first.GenerationId, times: 2);

        var shown = await _client.GetJsonAsync(FeedbackPath(first.GenerationId));
        Assert.Equal("Hi!", shown.GetProperty("output").GetString());
        Assert.Equal("chat", shown.GetProperty("kind").GetString());
        Assert.Equal("r@1", shown.GetProperty("modelVersionId").GetString());
        Assert.Equal(["system", "user"], shown.GetProperty("messages").EnumerateArray().Select(m => m.GetProperty("role").GetString()));
        Assert.Equal(40, shown.GetProperty("sampling").GetProperty("topK").GetInt32());
        Assert.Equal("key-1", shown.GetProperty("apiKeyId").GetString());
        Assert.Empty(shown.GetProperty("feedback").EnumerateArray());
        Assert.Equal(1, await services.Store.Generations.CountAsync(g => g.Id == first.GenerationId));
    }

    [Fact]
    public async Task FeedbackOfEveryKindIsStoredWithItsAuthorAndAnnounced()
    {
        var generation = await GenerateAsync();
        var other = await services.GenerateAsync((await services.Store.Generations.GetAsync(generation))!.Model, "api@2", "What is BPE?", "Byte pair encoding.");

        var thumbs = await PostAsync(generation, new { kind = "thumbs", up = true, user = "alice", comment = "short and right" }).ExpectAsync(HttpStatusCode.Created);
        var rating = await PostAsync(generation, new { kind = "rating", rating = 4 }, ("X-Forge-Key-Id", "key-7")).ExpectAsync(HttpStatusCode.Created);
        var correction = await PostAsync(generation, new { kind = "correction", correction = "Byte pair encoding, a subword tokenizer." }).ExpectAsync(HttpStatusCode.Created);
        var preference = await PostAsync(generation, new { kind = "preference", otherGenerationId = other, preferred = "other", user = "bob" }, ("X-Forge-Key-Id", "key-7"))
            .ExpectAsync(HttpStatusCode.Created);

        Assert.Equal("alice", thumbs.GetProperty("user").GetString());
        Assert.Equal("short and right", thumbs.GetProperty("comment").GetString());
        Assert.Equal("key-7", rating.GetProperty("user").GetString());
        Assert.Equal("anonymous", correction.GetProperty("user").GetString());
        Assert.Equal("bob", preference.GetProperty("user").GetString());
        var stored = await FeedbackOnAsync(generation);
        Assert.Equal(["thumbs", "rating", "correction", "preference"], stored.Select(f => f.GetProperty("kind").GetString()));
        Assert.True(stored[0].GetProperty("up").GetBoolean());
        Assert.Equal(4, stored[1].GetProperty("rating").GetInt32());
        Assert.Equal("Byte pair encoding, a subword tokenizer.", stored[2].GetProperty("correction").GetString());
        Assert.Equal(other, stored[3].GetProperty("otherGenerationId").GetString());
        Assert.Equal("other", stored[3].GetProperty("preferred").GetString());
        Assert.All(stored, f => Assert.Equal("api@1", f.GetProperty("modelVersionId").GetString()));
        Assert.All(stored, f => Assert.True(f.GetProperty("createdAt").GetDateTime() > DateTime.UtcNow.AddMinutes(-5)));

        var ids = stored.Select(f => f.GetProperty("id").GetString()!).ToHashSet();
        var announced = await Eventually.WaitAsync(
            () => Task.FromResult(services.Events.Of<FeedbackReceived>().Where(e => e.GenerationId == generation).ToList()),
            events => events.Count == 4, TimeSpan.FromSeconds(10), "four FeedbackReceived");
        Assert.Equal(ids, announced.Select(e => e.FeedbackId).ToHashSet());
        Assert.Equal(["thumbs", "rating", "correction", "preference"], announced.OrderBy(e => e.ReceivedAt).Select(e => e.Kind));
    }

    [Fact]
    public async Task FeedbackOnAnUnknownGenerationIsNotFoundAfterWaitingForIt()
    {
        var watch = Stopwatch.StartNew();

        var problem = await PostAsync("no-such-generation", new { kind = "thumbs", up = true }).ExpectAsync(HttpStatusCode.NotFound);

        Assert.True(watch.Elapsed >= TimeSpan.FromSeconds(1.8), $"answered after {watch.Elapsed}, before waiting for the generation");
        Assert.Equal("Unknown generation", problem.GetProperty("title").GetString());
        await _client.GetAsync(new Uri(FeedbackPath("no-such-generation"), UriKind.Relative)).ExpectAsync(HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task FeedbackSentJustBeforeItsGenerationArrivesIsStored()
    {
        var generation = services.Generation(UniqueModel("early"), "early@1", "2 + 2?", "4");

        var posting = PostAsync(generation.GenerationId, new { kind = "rating", rating = 5 });
        await Task.Delay(500);
        await services.PublishGenerationAsync(generation);

        var stored = await posting.ExpectAsync(HttpStatusCode.Created);
        Assert.Equal(generation.GenerationId, stored.GetProperty("generationId").GetString());
    }

    [Theory]
    [InlineData(0)]
    [InlineData(6)]
    public async Task ARatingOutsideOneToFiveIsRefused(int rating)
    {
        var generation = await GenerateAsync();

        await PostAsync(generation, new { kind = "rating", rating }).ExpectInvalidAsync("$.rating");

        Assert.Empty(await FeedbackOnAsync(generation));
    }

    [Theory]
    [InlineData("")]
    [InlineData(" \n\t ")]
    public async Task AnEmptyCorrectionIsRefused(string correction)
    {
        var generation = await GenerateAsync();

        await PostAsync(generation, new { kind = "correction", correction }).ExpectInvalidAsync("$.correction");

        Assert.Empty(await FeedbackOnAsync(generation));
    }

    [Theory]
    [InlineData("""{"kind": "stars", "up": true}""", "$.kind")]
    [InlineData("""{"up": true}""", "$.kind")]
    [InlineData("""{"kind": "thumbs"}""", "$.up")]
    [InlineData("""{"kind": "thumbs", "up": "yes"}""", "$.up")]
    [InlineData("""{"kind": "rating", "rating": 4.5}""", "$.rating")]
    [InlineData("""{"kind": "thumbs", "up": true, "rating": 5}""", "$.rating")]
    [InlineData("""{"kind": "thumbs", "up": true, "stars": 5}""", "$.stars")]
    [InlineData("""{"kind": "preference", "preferred": "this"}""", "$.otherGenerationId")]
    [InlineData("""{"kind": "preference", "otherGenerationId": "x", "preferred": "both"}""", "$.preferred")]
    [InlineData("""{"kind": "thumbs", "up": true, "user": "  "}""", "$.user")]
    public async Task ABodyWithAnUnknownKindOrAMissingWrongOrUnknownFieldIsRefusedNamingIt(string body, string field)
    {
        var generation = await GenerateAsync();

        await PostAsync(generation, body).ExpectInvalidAsync(field);

        Assert.Empty(await FeedbackOnAsync(generation));
    }

    [Fact]
    public async Task APreferenceNeedsAnotherExistingGenerationOfTheSamePrompt()
    {
        var generation = await GenerateAsync(prompt: "Name a prime.", output: "7");
        var model = (await services.Store.Generations.GetAsync(generation))!.Model;
        var otherPrompt = await services.GenerateAsync(model, "api@1", "Name an even number.", "8");
        var otherModel = await services.GenerateAsync(UniqueModel("other"), "o@1", "Name a prime.", "11");

        var differentPrompt = await PostAsync(generation, new { kind = "preference", otherGenerationId = otherPrompt, preferred = "this" }).ExpectInvalidAsync("$.otherGenerationId");
        await PostAsync(generation, new { kind = "preference", otherGenerationId = otherModel, preferred = "this" }).ExpectInvalidAsync("$.otherGenerationId");
        await PostAsync(generation, new { kind = "preference", otherGenerationId = generation, preferred = "this" }).ExpectInvalidAsync("$.otherGenerationId");
        await PostAsync(generation, new { kind = "preference", otherGenerationId = "no-such-generation", preferred = "this" }).ExpectInvalidAsync("$.otherGenerationId");

        Assert.Contains("another prompt", differentPrompt, StringComparison.Ordinal);
        Assert.Empty(await FeedbackOnAsync(generation));
    }

    [Fact]
    public async Task TheSameIdempotencyKeyStoresOnceAndAnswersTheFirstItem()
    {
        var generation = await GenerateAsync();
        var otherGeneration = await GenerateAsync();

        var first = await PostAsync(generation, new { kind = "rating", rating = 5 }, ("Idempotency-Key", "rate-1")).ExpectAsync(HttpStatusCode.Created);
        var retry = await PostAsync(generation, new { kind = "rating", rating = 5 }, ("Idempotency-Key", "rate-1")).ExpectAsync(HttpStatusCode.OK);
        var concurrent = await Task.WhenAll(Enumerable.Range(0, 6).Select(_ => PostAsync(generation, new { kind = "thumbs", up = false }, ("Idempotency-Key", "thumb-1"))));
        var onAnotherGeneration = await PostAsync(otherGeneration, new { kind = "rating", rating = 5 }, ("Idempotency-Key", "rate-1")).ExpectAsync(HttpStatusCode.Created);

        Assert.Equal(first.GetProperty("id").GetString(), retry.GetProperty("id").GetString());
        Assert.Single(concurrent, r => r.StatusCode == HttpStatusCode.Created);
        Assert.Equal(5, concurrent.Count(r => r.StatusCode == HttpStatusCode.OK));
        var thumbIds = new HashSet<string?>();
        foreach (var response in concurrent)
        {
            using (response)
                thumbIds.Add(JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("id").GetString());
        }
        Assert.Single(thumbIds);
        Assert.NotEqual(first.GetProperty("id").GetString(), onAnotherGeneration.GetProperty("id").GetString());
        Assert.Equal(["rating", "thumbs"], (await FeedbackOnAsync(generation)).Select(f => f.GetProperty("kind").GetString()).Order());
        await Eventually.WaitAsync(() => Task.FromResult(services.Events.Of<FeedbackReceived>().Count(e => e.GenerationId == generation)), count => count >= 2, TimeSpan.FromSeconds(10), "FeedbackReceived");
        await Task.Delay(300);
        Assert.Equal(2, services.Events.Of<FeedbackReceived>().Count(e => e.GenerationId == generation));
        await _client.PostJsonAsync(FeedbackPath(generation), new { kind = "thumbs", up = true }, ("Idempotency-Key", new string('k', 201))).ExpectInvalidAsync("Idempotency-Key");
    }

    [Fact]
    public async Task TheLatestFeedbackIsListedNewestFirstAndFilteredByModelVersionAndKind()
    {
        var model = UniqueModel("list");
        var older = await services.GenerateAsync(model, "list@1", "Q", "A1");
        var newer = await services.GenerateAsync(model, "list@2", "Q", "A2");
        await PostAsync(older, new { kind = "thumbs", up = true }).ExpectAsync(HttpStatusCode.Created);
        await PostAsync(older, new { kind = "rating", rating = 2 }).ExpectAsync(HttpStatusCode.Created);
        await PostAsync(newer, new { kind = "rating", rating = 5 }).ExpectAsync(HttpStatusCode.Created);

        var all = await _client.GetJsonAsync($"/api/feedback/items?model={model}");
        var ratings = await _client.GetJsonAsync($"/api/feedback/items?model={model}&kind=rating");
        var ofVersion = await _client.GetJsonAsync($"/api/feedback/items?model={model}&version=list@1&kind=rating");
        var latest = await _client.GetJsonAsync($"/api/feedback/items?model={model}&limit=1");

        Assert.Equal([5, 2, 0], all.EnumerateArray().Select(f => f.GetProperty("rating").ValueKind == JsonValueKind.Null ? 0 : f.GetProperty("rating").GetInt32()));
        Assert.Equal([5, 2], ratings.EnumerateArray().Select(f => f.GetProperty("rating").GetInt32()));
        Assert.Equal(2, Assert.Single(ofVersion.EnumerateArray()).GetProperty("rating").GetInt32());
        Assert.Equal(newer, Assert.Single(latest.EnumerateArray()).GetProperty("generationId").GetString());
        await _client.GetAsync(new Uri("/api/feedback/items?limit=0", UriKind.Relative)).ExpectInvalidAsync("limit");
        await _client.GetAsync(new Uri($"/api/feedback/items?limit={1001}", UriKind.Relative)).ExpectInvalidAsync("limit");
        await _client.GetAsync(new Uri("/api/feedback/items?kind=stars", UriKind.Relative)).ExpectInvalidAsync("kind");
    }
}
