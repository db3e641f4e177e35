using System.Net;

namespace Forge.Evaluator.Tests;

public sealed class EvalSetsApiTests(ServicesHost services) : IClassFixture<ServicesHost>
{
    private readonly HttpClient _client = services.Client;

    private static string UniqueName(string stem) => $"{stem}-{Guid.NewGuid():N}"[..24];

    private const string ThreeExamples =
        """
        {"prompt": "Translate: le chien", "references": ["the dog"], "id": "q1"}
        {"prompt": "Translate: le chat", "references": ["the cat", "a cat"]}

        {"prompt": "Translate: la souris", "references": ["the mouse"], "source": "ignored"}
        """;

    [Fact]
    public async Task AnUploadedEvalSetIsListedAndShownWithItsExamples()
    {
        var name = UniqueName("qa");

        var created = await _client.PostRawAsync($"/api/evaluator/evalsets/{name}", ThreeExamples, "application/x-ndjson").ExpectAsync(HttpStatusCode.Created);
        var list = await _client.GetAsync(new Uri("/api/evaluator/evalsets", UriKind.Relative)).ExpectAsync(HttpStatusCode.OK);
        var shown = await _client.GetAsync(new Uri($"/api/evaluator/evalsets/{name}", UriKind.Relative)).ExpectAsync(HttpStatusCode.OK);

        Assert.Equal(3, created.GetProperty("exampleCount").GetInt32());
        Assert.Equal(2, created.GetProperty("maxReferences").GetInt32());
        Assert.StartsWith($"evalsets/{name}/", created.GetProperty("artifactKey").GetString(), StringComparison.Ordinal);
        Assert.Contains(list.EnumerateArray(), set => set.GetProperty("name").GetString() == name);
        var examples = shown.GetProperty("examples").EnumerateArray().ToList();
        Assert.Equal(["Translate: le chien", "Translate: le chat", "Translate: la souris"], examples.Select(e => e.GetProperty("prompt").GetString()));
        Assert.Equal(["the cat", "a cat"], examples[1].GetProperty("references").EnumerateArray().Select(r => r.GetString()));
        Assert.Equal("q1", examples[0].GetProperty("id").GetString());
        Assert.True(File.Exists(Path.Combine(services.ArtifactsPath, created.GetProperty("artifactKey").GetString()!)));
    }

    [Theory]
    [InlineData("{\"prompt\": \"b\", \"references\": [\"c\"]", "malformed JSON")]
    [InlineData("[\"b\"]", "not a JSON object")]
    [InlineData("{\"references\": [\"c\"]}", "no \"prompt\"")]
    [InlineData("{\"prompt\": \"b\"}", "no \"references\"")]
    [InlineData("{\"prompt\": \"b\", \"references\": []}", "\"references\" must be a non-empty array")]
    [InlineData("{\"prompt\": \"b\", \"references\": [\"c\", 3]}", "\"references\"[1] must be a non-empty string")]
    [InlineData("{\"prompt\": 5, \"references\": [\"c\"]}", "\"prompt\" must be a non-empty string")]
    [InlineData("{\"prompt\": \"b\", \"references\": [\"c\"], \"id\": \"q1\"}", "already used")]
    public async Task AMalformedLineIsRefusedNamingItsNumberAndNothingIsStored(string badLine, string reason)
    {
        var name = UniqueName("bad");
        var body = "{\"prompt\": \"a\", \"references\": [\"b\"], \"id\": \"q1\"}\n\n" + badLine + "\n{\"prompt\": \"d\", \"references\": [\"e\"]}\n";

        var message = await _client.PostRawAsync($"/api/evaluator/evalsets/{name}", body, "application/x-ndjson").ExpectInvalidAsync("line 3");

        Assert.Contains(reason, message, StringComparison.Ordinal);
        await _client.GetAsync(new Uri($"/api/evaluator/evalsets/{name}", UriKind.Relative)).ExpectAsync(HttpStatusCode.NotFound);
        var list = await _client.GetAsync(new Uri("/api/evaluator/evalsets", UriKind.Relative)).ExpectAsync(HttpStatusCode.OK);
        Assert.DoesNotContain(list.EnumerateArray(), set => set.GetProperty("name").GetString() == name);
        Assert.False(Directory.Exists(Path.Combine(services.ArtifactsPath, "evalsets", name)));
    }

    [Fact]
    public async Task UploadingTheSameExamplesAgainAnswersTheStoredSet()
    {
        var name = UniqueName("again");
        var first = await _client.PostRawAsync($"/api/evaluator/evalsets/{name}", ThreeExamples).ExpectAsync(HttpStatusCode.Created);

        var second = await _client.PostRawAsync($"/api/evaluator/evalsets/{name}", ThreeExamples.Replace("\n", "\r\n", StringComparison.Ordinal)).ExpectAsync(HttpStatusCode.OK);

        Assert.Equal(first.GetProperty("sha256").GetString(), second.GetProperty("sha256").GetString());
    }

    [Fact]
    public async Task OtherExamplesUnderAnExistingNameAreAConflictAndTheSetIsUnchanged()
    {
        var name = UniqueName("fixed");
        var first = await _client.PostRawAsync($"/api/evaluator/evalsets/{name}", ThreeExamples).ExpectAsync(HttpStatusCode.Created);

        await _client.PostRawAsync($"/api/evaluator/evalsets/{name}", "{\"prompt\": \"x\", \"references\": [\"y\"]}").ExpectAsync(HttpStatusCode.Conflict);

        var shown = await _client.GetAsync(new Uri($"/api/evaluator/evalsets/{name}", UriKind.Relative)).ExpectAsync(HttpStatusCode.OK);
        Assert.Equal(first.GetProperty("sha256").GetString(), shown.GetProperty("evalSet").GetProperty("sha256").GetString());
        Assert.Single(Directory.GetFiles(Path.Combine(services.ArtifactsPath, "evalsets", name)));
    }

    [Fact]
    public async Task AnUnknownEvalSetIsNotFound()
    {
        await _client.GetAsync(new Uri("/api/evaluator/evalsets/no-such-set", UriKind.Relative)).ExpectAsync(HttpStatusCode.NotFound);
        await _client.PostJsonAsync("/api/evaluator/evalsets/no-such-set/evaluations", new { outputs = new[] { "a" } }).ExpectAsync(HttpStatusCode.NotFound);
        await _client.GetAsync(new Uri("/api/evaluator/evaluations/no-such-evaluation", UriKind.Relative)).ExpectAsync(HttpStatusCode.NotFound);
    }

    [Theory]
    [InlineData("Bad Name", "name")]
    [InlineData("-dash", "name")]
    public async Task ABadNameIsRefused(string name, string field)
    {
        await _client.PostRawAsync($"/api/evaluator/evalsets/{Uri.EscapeDataString(name)}", ThreeExamples).ExpectInvalidAsync(field);
    }

    [Fact]
    public async Task AnEmptyBodyIsABadRequestAndOnlyBlankLinesAreRefused()
    {
        await _client.PostRawAsync($"/api/evaluator/evalsets/{UniqueName("empty")}", "").ExpectAsync(HttpStatusCode.BadRequest);
        await _client.PostRawAsync($"/api/evaluator/evalsets/{UniqueName("blank")}", "\n  \n").ExpectInvalidAsync("body");
    }

    [Fact]
    public async Task OutputsAreScoredOnTheSetAndTheReportKeepsEveryExample()
    {
        var name = UniqueName("scored");
        await _client.PostRawAsync($"/api/evaluator/evalsets/{name}", ThreeExamples).ExpectAsync(HttpStatusCode.Created);

        var report = await _client.PostJsonAsync($"/api/evaluator/evalsets/{name}/evaluations", new { outputs = new[] { "the dog", "a cat", "the rat" } })
            .ExpectAsync(HttpStatusCode.Created);
        var stored = await _client.GetAsync(new Uri($"/api/evaluator/evaluations/{report.GetProperty("id").GetString()}", UriKind.Relative)).ExpectAsync(HttpStatusCode.OK);
        var listed = await _client.GetAsync(new Uri($"/api/evaluator/evaluations?evalSet={name}", UriKind.Relative)).ExpectAsync(HttpStatusCode.OK);

        var examples = stored.GetProperty("examples").EnumerateArray().ToList();
        Assert.Equal(["the dog", "a cat", "the rat"], examples.Select(e => e.GetProperty("output").GetString()));
        Assert.Equal(100.0, examples[1].GetProperty("chrF").GetDouble(), 1e-9);
        Assert.Equal(1.0, examples[0].GetProperty("rouge").GetProperty("rougeL").GetDouble(), 1e-12);
        Assert.Equal(report.GetProperty("metrics").GetProperty("bleu").GetDouble(), stored.GetProperty("bleu").GetProperty("score").GetDouble());
        Assert.Equal(["bleu", "chrf", "rouge1", "rouge2", "rougeL", "rougeLsum"], stored.GetProperty("metrics").EnumerateObject().Select(p => p.Name));
        Assert.Equal(report.GetProperty("id").GetString(), Assert.Single(listed.EnumerateArray()).GetProperty("id").GetString());
    }

    [Theory]
    [InlineData("""{"outputs": ["a", "b"]}""", "$.outputs")]
    [InlineData("""{"outputs": ["a", null, "c"]}""", "$.outputs[1]")]
    [InlineData("""{}""", "$.outputs")]
    [InlineData("""{"outputs": ["a", "b", "c"], "modelVersionId": ""}""", "$.modelVersionId")]
    public async Task BadOutputsAreRefusedNamingTheField(string body, string field)
    {
        var name = UniqueName("outputs");
        await _client.PostRawAsync($"/api/evaluator/evalsets/{name}", ThreeExamples).ExpectAsync(HttpStatusCode.Created);

        await _client.PostRawAsync($"/api/evaluator/evalsets/{name}/evaluations", body).ExpectInvalidAsync(field);
    }
}
