using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Xunit.Abstractions;

namespace Forge.EndToEnd.Tests;

/// <summary>The embedded host with a rate limit no fuzzer reaches: the tests look at what the services answer, not the limiter.</summary>
public sealed class UnlimitedEmbeddedForge : EmbeddedForge
{
    protected override IReadOnlyDictionary<string, string?> Settings => new Dictionary<string, string?>
    {
        ["Forge:Security:PermitsPerSecond"] = "100000",
        ["Forge:Security:Burst"] = "100000",
    };
}

/// <summary>
/// Random and mutated bodies on every POST and PUT route, and unknown ids on every route with an id: never a 500,
/// never a hang, and every 4xx is problem details. Seeded (FORGE_FUZZ_SEED repeats a run); a failure names the seed.
/// </summary>
public sealed class ReliabilityFuzzTests(UnlimitedEmbeddedForge forge, ITestOutputHelper output) : IClassFixture<UnlimitedEmbeddedForge>
{
    private const int Requests = 1_500;
    private static readonly TimeSpan RequestDeadline = TimeSpan.FromSeconds(5);
    private const string Dataset = "fuzz-dataset";

    /// <summary>Every POST and PUT route of the README, with a body close to a valid one to mutate.</summary>
    private static readonly (HttpMethod Method, string Route, string Seed)[] WriteRoutes =
    [
        (HttpMethod.Post, "/api/ingestion/datasets", """{"id": "fuzz-x", "description": "d"}"""),
        (HttpMethod.Post, "/api/ingestion/datasets/{id}/documents", """["one", {"text": "two", "id": "b"}]"""),
        (HttpMethod.Post, "/api/ingestion/datasets/{id}/text", "\"plain words\""),
        (HttpMethod.Post, "/api/ingestion/datasets/{id}/stream", """{"text": "a line", "id": "l1"}"""),
        (HttpMethod.Post, "/api/ingestion/datasets/{id}/files", """{"file": "x.txt"}"""),
        (HttpMethod.Put, "/api/cleaning/datasets/{id}/settings", """{"qualityFilters": false, "minHashBands": 14, "jaccardThreshold": 0.8}"""),
        (HttpMethod.Post, "/api/cleaning/datasets/{id}/versions", """{"validationFraction": 0.1}"""),
        (HttpMethod.Post, "/api/trainer/runs", """{"name": "r", "model": {"layers": 1, "heads": 1, "width": 8, "contextLength": 8}, "training": {"maxSteps": 1, "batchSize": 1}, "trainShards": ["tokens/none/train.bin"], "validationShards": ["tokens/none/v.bin"]}"""),
        (HttpMethod.Post, "/api/trainer/runs/{id}/cancel", "{}"),
        (HttpMethod.Post, "/api/trainer/finetunes", """{"name": "f", "baseCheckpointKey": "runs/none/checkpoints/step-1", "sftDataKey": "none.jsonl", "settings": {"maxSteps": 1}}"""),
        (HttpMethod.Post, "/api/tokenizer/tokenizers", """{"id": "t", "datasetVersion": "none@1", "kind": "bpe", "vocabularySize": 300, "minFrequency": 2, "specialTokens": ["<|endoftext|>"], "pattern": "gpt2"}"""),
        (HttpMethod.Put, "/api/tokenizer/tokenizers/{id}", """{"model": {"type": "BPE", "vocab": {"a": 0}, "merges": []}}"""),
        (HttpMethod.Post, "/api/tokenizer/tokenizers/{id}/encode", """{"text": "hello"}"""),
        (HttpMethod.Post, "/api/tokenizer/tokenizers/{id}/decode", """{"ids": [1, 2, 3]}"""),
        (HttpMethod.Post, "/api/tokenizer/tokenizations", """{"tokenizerId": "t", "datasetVersion": "none@1"}"""),
        (HttpMethod.Post, "/api/evaluator/metrics/bleu", """{"hypotheses": ["a b c"], "references": [["a b c"]]}"""),
        (HttpMethod.Post, "/api/evaluator/metrics/chrf", """{"hypotheses": ["a b c"], "references": [["a b c"]], "wordOrder": 2}"""),
        (HttpMethod.Post, "/api/evaluator/metrics/rouge", """{"hypotheses": ["a b c"], "references": [["a b c"]]}"""),
        (HttpMethod.Post, "/api/evaluator/evalsets/{id}", """{"prompt": "p", "references": ["r"]}"""),
        (HttpMethod.Post, "/api/evaluator/evalsets/{id}/evaluations", """{"outputs": ["o"], "modelVersionId": "m@1"}"""),
        (HttpMethod.Post, "/api/evaluator/evalsets/{id}/generations", """{"modelVersionId": "m@1", "maxNewTokens": 4, "temperature": 0, "seed": 1}"""),
        (HttpMethod.Post, "/api/evaluator/models/{id}/export", "{}"),
        (HttpMethod.Post, "/api/orchestrator/models/{id}/promote", """{"by": "me", "reason": "why"}"""),
        (HttpMethod.Post, "/api/orchestrator/models/rollback", """{"model": "m", "by": "me", "reason": "why"}"""),
        (HttpMethod.Put, "/api/orchestrator/families/{id}/policy", """{"gates": [{"evalSet": "validation", "metric": "perplexity", "threshold": 20}], "mustBeatPromoted": true}"""),
        (HttpMethod.Post, "/api/orchestrator/builds", """{"recipe": "name: x\nmodel:\n  layers: -1\n", "baseFolder": "/nonexistent"}"""),
        (HttpMethod.Post, "/api/orchestrator/builds/{id}/cancel", "{}"),
        (HttpMethod.Post, "/api/orchestrator/builds/{id}/retry", "{}"),
        (HttpMethod.Post, "/api/orchestrator/sweeps", """{"name": "s", "tokenizerId": "none", "trainShards": ["x"], "validationShards": ["y"], "parameters": {"training.learningRate": [0.001]}, "strategy": "grid"}"""),
        (HttpMethod.Post, "/api/orchestrator/sweeps/{id}/cancel", "{}"),
        (HttpMethod.Post, "/api/inference/completions", """{"prompt": "hi", "model": "none", "maxTokens": 2, "temperature": 0.5, "topK": 5, "topP": 0.9, "seed": 1, "stop": ["x"]}"""),
        (HttpMethod.Post, "/api/inference/chat", """{"messages": [{"role": "user", "content": "hi"}], "model": "none", "maxTokens": 2}"""),
        (HttpMethod.Post, "/v1/completions", """{"model": "none", "prompt": "hi", "max_tokens": 2}"""),
        (HttpMethod.Post, "/v1/chat/completions", """{"model": "none", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 2}"""),
        (HttpMethod.Post, "/api/feedback/generations/{id}", """{"kind": "rating", "rating": 3, "user": "u", "comment": "c"}"""),
        (HttpMethod.Put, "/api/feedback/models/{id}/policy", """{"minNewFeedback": 10, "minNewExamples": 5, "ratingBelow": 2, "minRatings": 3, "enabled": false}"""),
        (HttpMethod.Post, "/api/gateway/keys", """{"name": "fuzz", "scopes": ["read"]}"""),
    ];

    /// <summary>Routes with ids, asked about ids that were never created; each must answer 404.</summary>
    private static readonly (HttpMethod Method, string Route, string? Body)[] IdRoutes =
    [
        (HttpMethod.Get, "/api/ingestion/datasets/{id}", null),
        (HttpMethod.Get, "/api/ingestion/datasets/{id}/batches/{id}", null),
        (HttpMethod.Get, "/api/ingestion/datasets/{id}/sources", null),
        (HttpMethod.Delete, "/api/ingestion/datasets/{id}/sources/{id}", null),
        (HttpMethod.Post, "/api/ingestion/datasets/{id}/documents", """["text"]"""),
        (HttpMethod.Get, "/api/cleaning/datasets/" + Dataset + "/versions/987654", null),
        (HttpMethod.Get, "/api/trainer/runs/{id}", null),
        (HttpMethod.Post, "/api/trainer/runs/{id}/cancel", null),
        (HttpMethod.Get, "/api/tokenizer/tokenizers/{id}", null),
        (HttpMethod.Get, "/api/tokenizer/tokenizers/{id}/files/tokenizer.json", null),
        (HttpMethod.Post, "/api/tokenizer/tokenizers/{id}/encode", """{"text": "hello"}"""),
        (HttpMethod.Post, "/api/tokenizer/tokenizers/{id}/decode", """{"ids": [1]}"""),
        (HttpMethod.Get, "/api/tokenizer/tokenizations/{id}@1/{id}", null),
        (HttpMethod.Get, "/api/evaluator/evalsets/{id}", null),
        (HttpMethod.Get, "/api/evaluator/evaluations/{id}", null),
        (HttpMethod.Post, "/api/evaluator/evalsets/{id}/evaluations", """{"outputs": ["o"]}"""),
        (HttpMethod.Post, "/api/evaluator/models/{id}/export", null),
        (HttpMethod.Get, "/api/orchestrator/models/{id}", null),
        (HttpMethod.Post, "/api/orchestrator/models/{id}/promote", """{"by": "me", "reason": "why"}"""),
        (HttpMethod.Get, "/api/orchestrator/families/{id}", null),
        (HttpMethod.Get, "/api/orchestrator/builds/{id}", null),
        (HttpMethod.Post, "/api/orchestrator/builds/{id}/cancel", null),
        (HttpMethod.Post, "/api/orchestrator/builds/{id}/retry", null),
        (HttpMethod.Get, "/api/orchestrator/sweeps/{id}", null),
        (HttpMethod.Post, "/api/orchestrator/sweeps/{id}/cancel", null),
        (HttpMethod.Get, "/api/inference/generations/{id}", null),
        (HttpMethod.Get, "/api/feedback/generations/{id}", null),
        (HttpMethod.Post, "/api/feedback/generations/{id}", """{"kind": "thumbs", "up": true}"""),
        (HttpMethod.Delete, "/api/gateway/keys/{id}", null),
    ];

    private static readonly string[] ContentTypes =
        ["application/json", "application/json", "application/json", "text/plain", "application/x-ndjson", "application/xml", "multipart/form-data; boundary=x", "application/octet-stream", "", "application/json; charset=utf-16"];

    private static int Seed() =>
        int.TryParse(Environment.GetEnvironmentVariable("FORGE_FUZZ_SEED"), CultureInfo.InvariantCulture, out var seed) ? seed : Environment.TickCount & 0xFFFFFF;

    [Fact]
    public async Task RandomAndMutatedBodiesOnEveryWriteRouteNeverGetA500OrHang()
    {
        var seed = Seed();
        output.WriteLine($"seed {seed} (FORGE_FUZZ_SEED={seed} repeats this run)");
        await EnsureDatasetAsync();
        var random = new Random(seed);
        var failures = new List<string>();
        var statuses = new SortedDictionary<int, int>();
        var watch = Stopwatch.StartNew();
        for (var i = 0; i < Requests && failures.Count < 20; i++)
        {
            var (method, route, seedBody) = WriteRoutes[random.Next(WriteRoutes.Length)];
            var path = route.Replace("{id}", random.Next(3) == 0 ? RandomId(random) : Dataset, StringComparison.Ordinal);
            var (body, contentType) = Mutate(random, seedBody);
            var (status, problem, elapsed, detail) = await SendAsync(method, path, body, contentType);
            statuses[status] = statuses.GetValueOrDefault(status) + 1;
            var what = $"#{i} {method} {path} [{contentType}] {Preview(body)} -> {status} in {elapsed.TotalMilliseconds:0} ms: {detail}";
            if (status >= 500 || status == 0 || (status >= 400 && !problem))
                failures.Add(what);
        }
        output.WriteLine($"{Requests} requests in {watch.Elapsed.TotalSeconds:0.0}s: {string.Join(", ", statuses.Select(s => $"{s.Key}×{s.Value}"))}");
        Assert.True(failures.Count == 0, $"seed {seed} (rerun with FORGE_FUZZ_SEED={seed}):\n{string.Join("\n", failures)}");
    }

    [Fact]
    public async Task UnknownIdsOnEveryRouteWithAnIdAre404()
    {
        var seed = Seed();
        output.WriteLine($"seed {seed}");
        await EnsureDatasetAsync();
        var random = new Random(seed);
        var failures = new List<string>();
        foreach (var (method, route, body) in IdRoutes)
        {
            for (var attempt = 0; attempt < 3; attempt++)
            {
                var path = route.Replace("{id}", RandomId(random, readable: true), StringComparison.Ordinal);
                var (status, problem, elapsed, detail) = await SendAsync(method, path, body is null ? null : Encoding.UTF8.GetBytes(body), "application/json");
                if (status != 404 || !problem)
                    failures.Add($"{method} {path} -> {status} (problem: {problem}) in {elapsed.TotalMilliseconds:0} ms: {detail}");
            }
        }
        Assert.True(failures.Count == 0, $"seed {seed}:\n{string.Join("\n", failures)}");
    }

    private async Task EnsureDatasetAsync()
    {
        using var content = new StringContent($$"""{"id": "{{Dataset}}"}""", Encoding.UTF8, "application/json");
        using var response = await forge.Client.PostAsync("/api/ingestion/datasets", content);
        Assert.True(response.StatusCode is HttpStatusCode.Created or HttpStatusCode.Conflict, response.StatusCode.ToString());
    }

    private async Task<(int Status, bool Problem, TimeSpan Elapsed, string Detail)> SendAsync(HttpMethod method, string path, byte[]? body, string contentType)
    {
        using var request = new HttpRequestMessage(method, path);
        if (body is not null)
        {
            request.Content = new ByteArrayContent(body);
            if (contentType.Length > 0)
                request.Content.Headers.TryAddWithoutValidation("Content-Type", contentType);
        }
        using var deadline = new CancellationTokenSource(RequestDeadline);
        var watch = Stopwatch.StartNew();
        try
        {
            using var response = await forge.Client.SendAsync(request, deadline.Token);
            var text = await response.Content.ReadAsStringAsync(deadline.Token);
            var problem = response.Content.Headers.ContentType?.MediaType == "application/problem+json";
            return ((int)response.StatusCode, problem, watch.Elapsed, text.Length > 300 ? text[..300] : text);
        }
        catch (OperationCanceledException)
        {
            return (0, false, watch.Elapsed, $"no answer within {RequestDeadline.TotalSeconds:0}s");
        }
    }

    private static string Preview(byte[]? body)
    {
        if (body is null)
            return "(no body)";
        var text = Encoding.UTF8.GetString(body, 0, Math.Min(body.Length, 120)).ReplaceLineEndings(" ");
        return body.Length > 120 ? $"{text}… ({body.Length} bytes)" : text;
    }

    /// <summary>
    /// Ids as a client might send them by mistake, or as an attacker would: random, long, odd characters, escaped. No NUL:
    /// Kestrel refuses a request target holding one with a bare 400 before any Forge code runs.
    /// </summary>
    private static string RandomId(Random random, bool readable = false)
    {
        if (readable)
            return $"no-such-{random.Next():x}";
        return random.Next(6) switch
        {
            0 => Guid.NewGuid().ToString("N"),
            1 => new string('a', random.Next(200, 2000)),
            2 => Uri.EscapeDataString("ünï cødé " + random.Next()),
            3 => Uri.EscapeDataString("..%2F.." + random.Next()),
            4 => random.Next(int.MinValue, int.MaxValue).ToString(CultureInfo.InvariantCulture),
            _ => Uri.EscapeDataString(RandomString(random, random.Next(1, 40)).Replace("\0", "", StringComparison.Ordinal)),
        };
    }

    private static (byte[]? Body, string ContentType) Mutate(Random random, string seed)
    {
        var contentType = random.Next(4) == 0 ? ContentTypes[random.Next(ContentTypes.Length)] : "application/json";
        switch (random.Next(10))
        {
            case 0:
                var bytes = new byte[random.Next(0, 2000)];
                random.NextBytes(bytes);
                return (bytes, contentType);
            case 1:
                return (Encoding.UTF8.GetBytes(Deep(random.Next(2) == 0 ? "[" : "{\"a\":", random.Next(2) == 0 ? "]" : "}", random.Next(50, 5000))), contentType);
            case 2:
                return (Encoding.UTF8.GetBytes(RandomJson(random, 0)?.ToJsonString() ?? "null"), contentType);
            case 3:
                return (Encoding.UTF8.GetBytes(seed[..random.Next(seed.Length)]), contentType);
            case 4:
                return (null, contentType);
            default:
                var node = JsonNode.Parse(seed)!;
                for (var edits = random.Next(1, 4); edits > 0; edits--)
                    node = MutateNode(random, node);
                return (Encoding.UTF8.GetBytes(node?.ToJsonString() ?? "null"), contentType);
        }
    }

    private static string Deep(string open, string close, int depth) =>
        string.Concat(Enumerable.Repeat(open, depth)) + "1" + string.Concat(Enumerable.Repeat(close, depth));

    /// <summary>Changes one place in the tree: a value of another type, an extreme number, a field removed or unknown.</summary>
    private static JsonNode? MutateNode(Random random, JsonNode? node)
    {
        switch (node)
        {
            case JsonObject obj when obj.Count > 0 && random.Next(3) > 0:
                var name = obj.Select(p => p.Key).ElementAt(random.Next(obj.Count));
                switch (random.Next(4))
                {
                    case 0:
                        obj.Remove(name);
                        break;
                    case 1:
                        obj[RandomString(random, random.Next(1, 12))] = RandomJson(random, 1);
                        break;
                    default:
                        var child = obj[name];
                        obj.Remove(name);
                        obj[name] = MutateNode(random, child);
                        break;
                }
                return obj;
            case JsonArray array when array.Count > 0 && random.Next(3) > 0:
                var index = random.Next(array.Count);
                var item = array[index];
                array.RemoveAt(index);
                if (random.Next(4) > 0)
                    array.Insert(index, MutateNode(random, item));
                if (random.Next(4) == 0)
                    for (var copies = random.Next(1, 500); copies > 0; copies--)
                        array.Add(RandomScalar(random));
                return array;
            default:
                return RandomJson(random, 2);
        }
    }

    private static JsonNode? RandomJson(Random random, int depth)
    {
        if (depth > 4 || random.Next(3) == 0)
            return RandomScalar(random);
        if (random.Next(2) == 0)
        {
            var array = new JsonArray();
            for (var i = random.Next(0, 6); i > 0; i--)
                array.Add(RandomJson(random, depth + 1));
            return array;
        }
        var obj = new JsonObject();
        for (var i = random.Next(0, 6); i > 0; i--)
            obj[RandomString(random, random.Next(1, 10))] = RandomJson(random, depth + 1);
        return obj;
    }

    private static JsonNode? RandomScalar(Random random) => random.Next(12) switch
    {
        0 => null,
        1 => JsonValue.Create(random.Next(2) == 0),
        2 => JsonValue.Create(long.MaxValue),
        3 => JsonValue.Create(long.MinValue),
        4 => JsonValue.Create(-1),
        5 => JsonValue.Create(0),
        6 => JsonValue.Create(double.MaxValue),
        7 => JsonNode.Parse("1e400"),
        8 => JsonNode.Parse("123456789012345678901234567890"),
        9 => JsonValue.Create(new string('x', random.Next(0, 5000))),
        10 => JsonValue.Create(random.NextDouble() * 4 - 2),
        _ => JsonValue.Create(RandomString(random, random.Next(0, 30))),
    };

    private static string RandomString(Random random, int length)
    {
        var builder = new StringBuilder(length);
        for (var i = 0; i < length; i++)
            builder.Append(random.Next(5) switch
            {
                0 => (char)random.Next(0x20, 0x7F),
                1 => (char)random.Next(0xA0, 0x2FFF),
                2 => "\"\\/\n\t\0"[random.Next(6)],
                _ => (char)random.Next('a', 'z' + 1),
            });
        return builder.ToString();
    }
}
