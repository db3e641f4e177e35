using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Forge.Testing;

namespace Forge.EndToEnd.Tests;

/// <summary>
/// The inference service over real HTTP in the embedded host, with a model trained through the real pipeline:
/// Forge's API and the OpenAI-compatible one, streaming, stop sequences, stored generations and limits. The OpenAI
/// requests are written as the OpenAI SDKs send them (snake_case fields, content parts, stream_options).
/// </summary>
public sealed class InferenceApiTests(ServingForge forge) : IClassFixture<ServingForge>
{
    private HttpClient Client => forge.Client;

    [Fact]
    public async Task ACompletionIsStoredAndStreamsTheSameTextAtTemperatureZero()
    {
        var plain = await PostJsonAsync("/api/inference/completions", new { prompt = "the river", maxTokens = 24, temperature = 0 });
        var text = plain.GetProperty("output").GetString()!;
        Assert.False(string.IsNullOrEmpty(text));
        Assert.Equal(forge.VersionId, plain.GetProperty("modelVersionId").GetString());
        Assert.InRange(plain.GetProperty("completionTokens").GetInt32(), 1, 24);
        var id = plain.GetProperty("id").GetString()!;
        var stored = await Client.GetFromJsonAsync<JsonElement>($"/api/inference/generations/{id}");
        Assert.Equal(text, stored.GetProperty("output").GetString());
        Assert.Equal("the river", stored.GetProperty("prompt").GetString());
        Assert.Equal(0, stored.GetProperty("sampling").GetProperty("temperature").GetDouble());

        var events = await StreamAsync("/api/inference/completions", new { prompt = "the river", maxTokens = 24, temperature = 0, stream = true });
        var tokens = events.Where(e => e.Event == "token").Select(e => JsonDocument.Parse(e.Data).RootElement).ToList();
        Assert.True(tokens.Count >= 2, "the text should arrive in several events");
        Assert.Equal(text, string.Concat(tokens.Select(t => t.GetProperty("text").GetString())));
        var done = JsonDocument.Parse(events.Single(e => e.Event == "done").Data).RootElement;
        Assert.Equal(text, done.GetProperty("output").GetString());
        Assert.NotEqual(id, done.GetProperty("id").GetString());

        using var unknown = await Client.GetAsync("/api/inference/generations/gen_nope");
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
    }

    [Fact]
    public async Task SamplingWithASeedRepeatsAndStopSequencesCutTheText()
    {
        var first = await PostJsonAsync("/api/inference/completions", new { prompt = "in the summer", maxTokens = 30, temperature = 0.9, topK = 40, topP = 0.95, seed = 11 });
        var second = await PostJsonAsync("/api/inference/completions", new { prompt = "in the summer", maxTokens = 30, temperature = 0.9, topK = 40, topP = 0.95, seed = 11 });
        var text = first.GetProperty("output").GetString()!;
        Assert.Equal(text, second.GetProperty("output").GetString());

        // A stop sequence taken from the middle of that text ends the same generation just before it.
        var stop = text.Trim().Length >= 6 ? text.Trim()[3..6] : text.Trim();
        var stopped = await PostJsonAsync("/api/inference/completions", new { prompt = "in the summer", maxTokens = 30, temperature = 0.9, topK = 40, topP = 0.95, seed = 11, stop = new[] { stop } });
        Assert.Equal(text[..text.IndexOf(stop, StringComparison.Ordinal)], stopped.GetProperty("output").GetString());
        Assert.Equal("stop", stopped.GetProperty("finishReason").GetString());
    }

    [Fact]
    public async Task OpenAiCompletionsAndModelsAnswerInOpenAisShape()
    {
        var models = await Client.GetFromJsonAsync<JsonElement>("/v1/models");
        Assert.Equal("list", models.GetProperty("object").GetString());
        Assert.Contains(models.GetProperty("data").EnumerateArray(), m => m.GetProperty("id").GetString() == ServingForge.Model && m.GetProperty("object").GetString() == "model");
        Assert.Contains(models.GetProperty("data").EnumerateArray(), m => m.GetProperty("id").GetString() == forge.VersionId);

        var completion = await PostRawAsync("/v1/completions", """{"model": "served", "prompt": "the river", "max_tokens": 12, "temperature": 0, "n": 1, "stream": false, "logprobs": null, "frequency_penalty": 0, "user": "test"}""");
        Assert.Equal("text_completion", completion.GetProperty("object").GetString());
        Assert.Equal("served", completion.GetProperty("model").GetString());
        var choice = completion.GetProperty("choices")[0];
        Assert.Equal(0, choice.GetProperty("index").GetInt32());
        Assert.Contains(choice.GetProperty("finish_reason").GetString(), new[] { "stop", "length" });
        var usage = completion.GetProperty("usage");
        Assert.Equal(usage.GetProperty("prompt_tokens").GetInt32() + usage.GetProperty("completion_tokens").GetInt32(), usage.GetProperty("total_tokens").GetInt32());
        // The id is the stored generation's, so feedback can point at it.
        var stored = await Client.GetFromJsonAsync<JsonElement>($"/api/inference/generations/{completion.GetProperty("id").GetString()}");
        Assert.Equal(choice.GetProperty("text").GetString(), stored.GetProperty("output").GetString());

        var streamed = await StreamAsync("/v1/completions", JsonDocument.Parse("""{"model": "served", "prompt": ["the river"], "max_tokens": 12, "temperature": 0, "stream": true}""").RootElement);
        Assert.Equal("[DONE]", streamed[^1].Data);
        var chunks = streamed.SkipLast(1).Select(e => JsonDocument.Parse(e.Data).RootElement).ToList();
        Assert.All(chunks, c => Assert.Equal("text_completion", c.GetProperty("object").GetString()));
        Assert.Equal(choice.GetProperty("text").GetString(), string.Concat(chunks.Select(c => c.GetProperty("choices")[0].GetProperty("text").GetString())));
        Assert.NotNull(chunks[^1].GetProperty("choices")[0].GetProperty("finish_reason").GetString());
    }

    [Fact]
    public async Task OpenAiChatStreamsDeltasAsTheSdksExpect()
    {
        const string request = """
            {"model": "served", "messages": [{"role": "developer", "content": "Answer briefly."}, {"role": "user", "content": [{"type": "text", "text": "the river and the"}]}],
             "max_completion_tokens": 16, "temperature": 0, "top_p": 1, "presence_penalty": 0, "stream": %STREAM%, "stream_options": {"include_usage": true}}
            """;
        var whole = await PostRawAsync("/v1/chat/completions", request.Replace("%STREAM%", "false", StringComparison.Ordinal).Replace(", \"stream_options\": {\"include_usage\": true}", "", StringComparison.Ordinal));
        Assert.Equal("chat.completion", whole.GetProperty("object").GetString());
        var message = whole.GetProperty("choices")[0].GetProperty("message");
        Assert.Equal("assistant", message.GetProperty("role").GetString());
        var content = message.GetProperty("content").GetString()!;
        Assert.DoesNotContain("<|", content, StringComparison.Ordinal);

        var events = await StreamAsync("/v1/chat/completions", JsonDocument.Parse(request.Replace("%STREAM%", "true", StringComparison.Ordinal)).RootElement);
        Assert.Equal("[DONE]", events[^1].Data);
        var chunks = events.SkipLast(1).Select(e => JsonDocument.Parse(e.Data).RootElement).ToList();
        Assert.All(chunks, c => Assert.Equal("chat.completion.chunk", c.GetProperty("object").GetString()));
        Assert.Equal("assistant", chunks[0].GetProperty("choices")[0].GetProperty("delta").GetProperty("role").GetString());
        var deltas = chunks.Where(c => c.GetProperty("choices").GetArrayLength() > 0)
            .Select(c => c.GetProperty("choices")[0].GetProperty("delta"))
            .Where(d => d.TryGetProperty("content", out _))
            .Select(d => d.GetProperty("content").GetString());
        Assert.Equal(content, string.Concat(deltas));
        var finish = chunks.Last(c => c.GetProperty("choices").GetArrayLength() > 0).GetProperty("choices")[0];
        Assert.Contains(finish.GetProperty("finish_reason").GetString(), new[] { "stop", "length" });
        // stream_options.include_usage: a last chunk with no choices and the usage.
        Assert.Equal(0, chunks[^1].GetProperty("choices").GetArrayLength());
        Assert.True(chunks[^1].GetProperty("usage").GetProperty("completion_tokens").GetInt32() > 0);

        var stored = await Client.GetFromJsonAsync<JsonElement>($"/api/inference/generations/{chunks[0].GetProperty("id").GetString()}");
        Assert.Equal("chat", stored.GetProperty("kind").GetString());
        Assert.Equal("the river and the", stored.GetProperty("prompt").GetString());
        Assert.Equal(2, stored.GetProperty("messages").GetArrayLength());
    }

    [Fact]
    public async Task ALongConversationKeepsItsLatestTurnsWithinTheContext()
    {
        var turns = Enumerable.Range(0, 12).Select(i => new { role = i % 2 == 0 ? "user" : "assistant", content = $"turn {i} about the river and the town of the bridge" }).ToArray();
        var answer = await PostJsonAsync("/api/inference/chat", new { messages = turns.Prepend(new { role = "system", content = "Be kind." }).ToArray(), maxTokens = 8, temperature = 0 });
        Assert.True(answer.GetProperty("droppedTurns").GetInt32() > 0);
        Assert.True(answer.GetProperty("promptTokens").GetInt32() <= 64 - 8);
    }

    [Fact]
    public async Task BadRequestsGetProblemsNamingTheField()
    {
        await ExpectProblemAsync("/api/inference/completions", """{"prompt": "a", "temperature": 3}""", HttpStatusCode.UnprocessableEntity, "temperature");
        await ExpectProblemAsync("/api/inference/completions", """{"prompt": "a", "maxTokens": 0}""", HttpStatusCode.UnprocessableEntity, "maxTokens");
        await ExpectProblemAsync("/api/inference/completions", """{"prompt": "a", "maxTokens": 4001}""", HttpStatusCode.UnprocessableEntity, "maxTokens");
        await ExpectProblemAsync("/api/inference/completions", """{"prompt": "a", "topP": 0}""", HttpStatusCode.UnprocessableEntity, "topP");
        await ExpectProblemAsync("/api/inference/completions", """{"prompt": "a", "stop": ["a", "b", "c", "d", "e"]}""", HttpStatusCode.UnprocessableEntity, "stop");
        await ExpectProblemAsync("/api/inference/completions", """{"prompt": "a", "temprature": 1}""", HttpStatusCode.UnprocessableEntity, "$.temprature");
        await ExpectProblemAsync("/api/inference/completions", """{"maxTokens": 4}""", HttpStatusCode.UnprocessableEntity, "prompt");
        await ExpectProblemAsync("/api/inference/completions", """{"prompt": ""}""", HttpStatusCode.UnprocessableEntity, "prompt");
        await ExpectProblemAsync("/api/inference/completions", "{\"prompt\": \"" + string.Concat(Enumerable.Repeat("river town ", 60)) + "\"}", HttpStatusCode.UnprocessableEntity, "prompt");
        await ExpectProblemAsync("/api/inference/chat", """{"messages": [{"role": "robot", "content": "hi"}]}""", HttpStatusCode.UnprocessableEntity, "messages[0].role");
        await ExpectProblemAsync("/api/inference/completions", """{"prompt": "a", "model": "nope"}""", HttpStatusCode.NotFound, null);
        await ExpectProblemAsync("/api/inference/completions", """{"prompt": "a", "model": "served@99"}""", HttpStatusCode.NotFound, null);
        using (var malformed = await Client.PostAsync("/api/inference/completions", new StringContent("{\"prompt\": ", Encoding.UTF8, "application/json")))
            Assert.Equal(HttpStatusCode.BadRequest, malformed.StatusCode);

        // The OpenAI API answers with OpenAI's error object inside the problem.
        var unknownModel = await ExpectProblemAsync("/v1/chat/completions", """{"model": "nope", "messages": [{"role": "user", "content": "hi"}]}""", HttpStatusCode.NotFound, null);
        Assert.Equal("model_not_found", unknownModel.GetProperty("error").GetProperty("code").GetString());
        var n = await ExpectProblemAsync("/v1/completions", """{"model": "served", "prompt": "a", "n": 2}""", HttpStatusCode.UnprocessableEntity, "n");
        Assert.Equal("n", n.GetProperty("error").GetProperty("param").GetString());
        await ExpectProblemAsync("/v1/chat/completions", """{"model": "served", "messages": [{"role": "tool", "content": "x"}]}""", HttpStatusCode.UnprocessableEntity, "messages[0].role");
        await ExpectProblemAsync("/v1/chat/completions", """{"model": "served", "messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "x"}}]}]}""", HttpStatusCode.UnprocessableEntity, "messages[0].content[0]");
        await ExpectProblemAsync("/v1/completions", """{"model": "served", "prompt": "a", "max_tokens": "many"}""", HttpStatusCode.UnprocessableEntity, "max_tokens");
    }

    [Fact]
    public async Task AKeyRunsAtMostItsConcurrentGenerationsAndOthersAreNotHeldUp()
    {
        // Two long streams hold the key's two slots; a third request for the key gets 429 with Retry-After.
        var holding = new List<HttpResponseMessage>();
        using var cancel = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        try
        {
            for (var i = 0; i < ServingForge.ConcurrentPerKey; i++)
                holding.Add(await SendStreamAsync("/api/inference/completions", new { prompt = "the river", maxTokens = 4000, temperature = 1, ignoreEos = true, stream = true }, "key-a", cancel.Token));
            using (var third = await SendStreamAsync("/api/inference/completions", new { prompt = "the river", maxTokens = 4 }, "key-a", cancel.Token))
            {
                Assert.Equal(HttpStatusCode.TooManyRequests, third.StatusCode);
                Assert.True(third.Headers.RetryAfter is not null, "429 should say when to retry");
            }
            // Another key is not held up by key-a's generations.
            using var other = await SendStreamAsync("/api/inference/completions", new { prompt = "the river", maxTokens = 4 }, "key-b", cancel.Token);
            Assert.Equal(HttpStatusCode.OK, other.StatusCode);
        }
        finally
        {
            foreach (var response in holding)
                response.Dispose(); // the client leaves: the streams stop and the slots free up
        }
        await Forge.Testing.Eventually.WaitAsync(async () =>
            {
                using var again = await SendStreamAsync("/api/inference/completions", new { prompt = "the river", maxTokens = 4 }, "key-a", CancellationToken.None);
                return again.StatusCode;
            }, status => status == HttpStatusCode.OK, TimeSpan.FromSeconds(20), "key-a's slots to free up after its clients left");
    }

    [Fact]
    public async Task EightConcurrentStreamsAllFinish()
    {
        var streams = Enumerable.Range(0, 8).Select(i => StreamAsync("/api/inference/completions", new { prompt = "the town", maxTokens = 32, temperature = 0.8, seed = i, stream = true }, $"key-{i}"));
        var results = await Task.WhenAll(streams);
        Assert.All(results, events => Assert.Single(events, e => e.Event == "done"));
        var ids = results.Select(events => JsonDocument.Parse(events.Single(e => e.Event == "done").Data).RootElement.GetProperty("id").GetString()).ToHashSet();
        Assert.Equal(8, ids.Count);
    }

    [Fact]
    public async Task TheOpenApiDocumentDescribesEveryServicesRoutes()
    {
        using var anonymous = new HttpClient { BaseAddress = Client.BaseAddress };
        var document = await anonymous.GetFromJsonAsync<JsonElement>("/openapi/v1.json"); // public: it holds no data
        var paths = document.GetProperty("paths").EnumerateObject().Select(p => p.Name).ToList();
        foreach (var route in new[] { "/api/inference/completions", "/v1/chat/completions", "/api/feedback/generations/{generationId}", "/api/orchestrator/builds", "/api/trainer/runs", "/api/ingestion/datasets" })
            Assert.Contains(route, paths);
        using var docs = await anonymous.GetAsync("/docs");
        Assert.Equal(HttpStatusCode.OK, docs.StatusCode);
    }

    [Fact]
    public async Task ACandidateVersionIsServedByItsIdWhileTheModelsNameStaysOnThePromotedOne()
    {
        // A second version of the model, registered and not promoted (the promoted one's checkpoint under another run).
        var promoted = await Client.GetFromJsonAsync<JsonElement>($"/api/orchestrator/models/{forge.VersionId}");
        using var registered = await Client.PostAsJsonAsync("/api/orchestrator/models", new
        {
            model = ServingForge.Model,
            runId = "candidate-run",
            checkpointKey = promoted.GetProperty("checkpointKey").GetString(),
            tokenizerId = promoted.GetProperty("tokenizerId").GetString(),
            datasetVersions = promoted.GetProperty("datasetVersions"),
            by = "tests",
        });
        Assert.Equal(HttpStatusCode.Created, registered.StatusCode);
        var candidate = (await registered.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString()!;
        Assert.NotEqual(forge.VersionId, candidate);
        await Eventually.WaitAsync(() => Client.GetFromJsonAsync<JsonElement>("/api/inference/models"),
            m => m.GetProperty("versions").EnumerateArray().Any(v => v.GetString() == candidate),
            TimeSpan.FromSeconds(20), "the inference service to know the candidate");

        var byId = await PostJsonAsync("/api/inference/completions", new { prompt = "the river", maxTokens = 8, temperature = 0, model = candidate });
        var byName = await PostJsonAsync("/api/inference/completions", new { prompt = "the river", maxTokens = 8, temperature = 0, model = ServingForge.Model });

        Assert.Equal(candidate, byId.GetProperty("modelVersionId").GetString());
        Assert.Equal(forge.VersionId, byName.GetProperty("modelVersionId").GetString());
        // The same weights under both ids: the same greedy text.
        Assert.Equal(byName.GetProperty("output").GetString(), byId.GetProperty("output").GetString());
    }

    private async Task<JsonElement> PostJsonAsync(string path, object body)
    {
        using var response = await Client.PostAsJsonAsync(path, body);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{path}: {(int)response.StatusCode} {text}");
        return JsonDocument.Parse(text).RootElement.Clone();
    }

    private async Task<JsonElement> PostRawAsync(string path, string json)
    {
        using var response = await Client.PostAsync(path, new StringContent(json, Encoding.UTF8, "application/json"));
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{path}: {(int)response.StatusCode} {text}");
        return JsonDocument.Parse(text).RootElement.Clone();
    }

    private async Task<JsonElement> ExpectProblemAsync(string path, string json, HttpStatusCode status, string? field)
    {
        using var response = await Client.PostAsync(path, new StringContent(json, Encoding.UTF8, "application/json"));
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == status, $"{path} {json[..Math.Min(json.Length, 80)]}: expected {(int)status}, got {(int)response.StatusCode} {text}");
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = JsonDocument.Parse(text).RootElement.Clone();
        if (field is not null)
            Assert.True(problem.GetProperty("errors").TryGetProperty(field, out _), $"expected the problem to name {field}: {text}");
        return problem;
    }

    private static readonly System.Collections.Concurrent.ConcurrentDictionary<string, Task<string>> Keys = new();

    /// <summary>A read-scoped API key per name, made once through the key API: the per-key limits count by key.</summary>
    private Task<string> KeyAsync(string name) => Keys.GetOrAdd($"{forge.AdminKey}/{name}", async _ =>
    {
        using var response = await Client.PostAsJsonAsync("/api/gateway/keys", new { name, scopes = new[] { "read" } });
        var created = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.True(response.StatusCode == HttpStatusCode.Created, created.ToString());
        return created.GetProperty("key").GetString()!;
    });

    private async Task<HttpResponseMessage> SendStreamAsync(string path, object body, string key, CancellationToken cancellationToken)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = JsonContent.Create(body) };
        if (key != "anonymous")
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", await KeyAsync(key));
        return await Client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
    }

    private async Task<List<(string? Event, string Data)>> StreamAsync(string path, object body, string key = "anonymous")
    {
        using var response = await SendStreamAsync(path, body, key, CancellationToken.None);
        Assert.True(response.StatusCode == HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        var events = new List<(string?, string)>();
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
        string? name = null;
        while (await reader.ReadLineAsync() is { } line)
        {
            if (line.StartsWith("event: ", StringComparison.Ordinal))
                name = line["event: ".Length..];
            else if (line.StartsWith("data: ", StringComparison.Ordinal))
            {
                events.Add((name, line["data: ".Length..]));
                name = null;
            }
        }
        return events;
    }
}
