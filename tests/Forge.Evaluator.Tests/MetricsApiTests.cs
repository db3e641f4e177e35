using System.Net;
using Forge.Metrics;

namespace Forge.Evaluator.Tests;

public sealed class MetricsApiTests(ServicesHost services) : IClassFixture<ServicesHost>
{
    private readonly HttpClient _client = services.Client;

    [Fact]
    public async Task BleuOnSacrebleusReadmeExampleIs48Point53WithItsStatistics()
    {
        var bleu = await _client.PostJsonAsync("/api/evaluator/metrics/bleu", new { hypotheses = SacrebleuReadme.Hypotheses, references = SacrebleuReadme.References })
            .ExpectAsync(HttpStatusCode.OK);

        Assert.Equal(48.530827, bleu.GetProperty("score").GetDouble(), 1e-6);
        Assert.Equal([14, 7, 5, 3], bleu.GetProperty("counts").EnumerateArray().Select(c => c.GetInt32()));
        Assert.Equal([17, 14, 11, 8], bleu.GetProperty("totals").EnumerateArray().Select(c => c.GetInt32()));
        Assert.Equal([82.4, 50.0, 45.5, 37.5], bleu.GetProperty("precisions").EnumerateArray().Select(p => Math.Round(p.GetDouble(), 1)));
        Assert.Equal(0.943, bleu.GetProperty("brevityPenalty").GetDouble(), 3);
        Assert.Equal(17, bleu.GetProperty("systemLength").GetInt32());
        Assert.Equal(18, bleu.GetProperty("referenceLength").GetInt32());
        Assert.Equal(0.944, bleu.GetProperty("ratio").GetDouble(), 3);
    }

    [Fact]
    public async Task BleuOptionsReachTheMetric()
    {
        var body = new { hypotheses = new[] { "THE DOG bit the man." }, references = new[] { new[] { "the dog bit the man." } }, lowercase = true, tokenize = "none", smooth = "floor" };

        var bleu = await _client.PostJsonAsync("/api/evaluator/metrics/bleu", body).ExpectAsync(HttpStatusCode.OK);

        var expected = Bleu.Corpus(["THE DOG bit the man."], [["the dog bit the man."]],
            new BleuOptions { Lowercase = true, Tokenizer = BleuTokenizer.None, Smoothing = BleuSmoothing.Floor });
        Assert.Equal(expected.Score, bleu.GetProperty("score").GetDouble());
        Assert.Equal(100.0, expected.Score, 1e-9);
    }

    [Fact]
    public async Task ChrFOnSacrebleusReadmeExampleIs59Point73AndWordOrderTwoIsChrFPlusPlus()
    {
        var chrF = await _client.PostJsonAsync("/api/evaluator/metrics/chrf", new { hypotheses = SacrebleuReadme.Hypotheses, references = SacrebleuReadme.References })
            .ExpectAsync(HttpStatusCode.OK);
        var chrFPlusPlus = await _client.PostJsonAsync("/api/evaluator/metrics/chrf", new { hypotheses = SacrebleuReadme.Hypotheses, references = SacrebleuReadme.References, wordOrder = 2 })
            .ExpectAsync(HttpStatusCode.OK);

        Assert.Equal(59.73, chrF.GetProperty("score").GetDouble(), 2);
        Assert.Equal("chrF2", chrF.GetProperty("name").GetString());
        Assert.Equal("chrF2++", chrFPlusPlus.GetProperty("name").GetString());
        Assert.Equal(ChrF.Corpus(SacrebleuReadme.Hypotheses, SacrebleuReadme.References, ChrFOptions.ChrFPlusPlus).Score, chrFPlusPlus.GetProperty("score").GetDouble());
    }

    [Fact]
    public async Task RougeIsTheMeanOfTheSegmentScoresAgainstTheirBestReference()
    {
        var body = new
        {
            hypotheses = new[] { "the cat sat", "a dog ran" },
            references = new[] { new[] { "the cat sat on the mat", "" }, new[] { "a dog", "a dog ran far" } },
            types = new[] { "rouge1", "rougeL" },
        };

        var rouge = await _client.PostJsonAsync("/api/evaluator/metrics/rouge", body).ExpectAsync(HttpStatusCode.OK);

        // Segment 1: 3 of 3 predicted unigrams match, 3 of 6 target ones: P 1, R 1/2, F 2/3. Segment 2's best target is
        // "a dog ran far": P 1, R 3/4, F 6/7 (against "a dog" F would be 4/5).
        var rouge1 = rouge.GetProperty("mean").GetProperty("rouge1");
        Assert.Equal(2, rouge.GetProperty("segments").GetInt32());
        Assert.Equal(1.0, rouge1.GetProperty("precision").GetDouble(), 1e-12);
        Assert.Equal((0.5 + 0.75) / 2, rouge1.GetProperty("recall").GetDouble(), 1e-12);
        Assert.Equal((2.0 / 3 + 6.0 / 7) / 2, rouge1.GetProperty("fMeasure").GetDouble(), 1e-12);
        Assert.True(rouge.GetProperty("mean").TryGetProperty("rougeL", out _));
        Assert.False(rouge.GetProperty("mean").TryGetProperty("rouge2", out _));
    }

    [Theory]
    [InlineData("bleu")]
    [InlineData("chrf")]
    [InlineData("rouge")]
    public async Task AReferenceSetOfTheWrongLengthIsRefusedNamingIt(string metric)
    {
        var body = new { hypotheses = new[] { "a", "b" }, references = new[] { new[] { "a", "b" }, new[] { "a" } } };

        var message = await _client.PostJsonAsync($"/api/evaluator/metrics/{metric}", body).ExpectInvalidAsync("$.references[1]");

        Assert.Equal("has 1 segments for 2 hypotheses", message);
    }

    [Theory]
    [InlineData("""{"hypotheses": [], "references": [[]]}""", "$.hypotheses")]
    [InlineData("""{"references": [["a"]]}""", "$.hypotheses")]
    [InlineData("""{"hypotheses": ["a"], "references": []}""", "$.references")]
    [InlineData("""{"hypotheses": ["a"]}""", "$.references")]
    [InlineData("""{"hypotheses": ["a", null], "references": [["a", "b"]]}""", "$.hypotheses[1]")]
    [InlineData("""{"hypotheses": ["a", 7], "references": [["a", "b"]]}""", "$.hypotheses[1]")]
    [InlineData("""{"hypotheses": ["a"], "references": [["a"], null]}""", "$.references[1]")]
    [InlineData("""{"hypotheses": ["a", "b"], "references": [["a", ""], ["b", ""]]}""", "$.references")]
    [InlineData("""{"hypotheses": ["a"], "references": [["a"]], "tokenize": "intl"}""", "$.tokenize")]
    [InlineData("""{"hypotheses": ["a"], "references": [["a"]], "smooth": "magic"}""", "$.smooth")]
    [InlineData("""{"hypotheses": ["a"], "references": [["a"]], "maxNgramOrder": 0}""", "$.maxNgramOrder")]
    [InlineData("""{"hypotheses": ["a"], "references": [["a"]], "lowercase": "yes"}""", "$.lowercase")]
    public async Task ABadBleuBodyIsRefusedNamingTheField(string body, string field)
    {
        await _client.PostRawAsync("/api/evaluator/metrics/bleu", body).ExpectInvalidAsync(field);
    }

    [Fact]
    public async Task AnUnknownOptionIsRefusedRatherThanIgnored()
    {
        var message = await _client.PostRawAsync("/api/evaluator/metrics/bleu", """{"hypotheses": ["a"], "references": [["a"]], "lowercased": true}""")
            .ExpectInvalidAsync("$.lowercased");

        Assert.Equal("is not a field of this request", message);
    }

    [Theory]
    [InlineData("""{"hypotheses": "a", "references": [["a"]]}""", "$.hypotheses", "must be an array of strings")]
    [InlineData("""{"hypotheses": ["a", 7], "references": [["a", "b"]]}""", "$.hypotheses[1]", "must be a string")]
    [InlineData("""{"hypotheses": ["a"], "references": [["a"]], "lowercase": "yes"}""", "$.lowercase", "must be true or false")]
    [InlineData("""{"hypotheses": ["a"], "references": [["a"]], "maxNgramOrder": 2.5}""", "$.maxNgramOrder", "must be a whole number")]
    public async Task AFieldOfTheWrongTypeIsRefusedSayingWhatItMustBe(string body, string field, string expected)
    {
        Assert.Equal(expected, await _client.PostRawAsync("/api/evaluator/metrics/bleu", body).ExpectInvalidAsync(field));
    }

    [Theory]
    [InlineData("""{"hypotheses": ["a"], "references": [["a"]], "wordOrder": -1}""", "$.wordOrder")]
    [InlineData("""{"hypotheses": ["a"], "references": [["a"]], "charOrder": 0}""", "$.charOrder")]
    [InlineData("""{"hypotheses": ["a"], "references": [["a"]], "beta": -2}""", "$.beta")]
    public async Task ABadChrFBodyIsRefusedNamingTheField(string body, string field)
    {
        await _client.PostRawAsync("/api/evaluator/metrics/chrf", body).ExpectInvalidAsync(field);
    }

    [Theory]
    [InlineData("""{"hypotheses": ["a"], "references": [["a"]], "types": ["rouge1", "rougeX"]}""", "$.types[1]")]
    [InlineData("""{"hypotheses": ["a"], "references": [["a"]], "types": ["rougeL", "rougeL"]}""", "$.types[1]")]
    [InlineData("""{"hypotheses": ["a"], "references": [["a"]], "types": []}""", "$.types")]
    public async Task ABadRougeBodyIsRefusedNamingTheField(string body, string field)
    {
        await _client.PostRawAsync("/api/evaluator/metrics/rouge", body).ExpectInvalidAsync(field);
    }

    [Theory]
    [InlineData("")]
    [InlineData("{\"hypotheses\": [")]
    public async Task AnEmptyOrMalformedBodyIsABadRequest(string body)
    {
        await _client.PostRawAsync("/api/evaluator/metrics/bleu", body).ExpectAsync(HttpStatusCode.BadRequest);
    }

    [Fact]
    public async Task ABodyThatIsNotJsonIsAnUnsupportedMediaType()
    {
        await _client.PostRawAsync("/api/evaluator/metrics/chrf", "a b c", "text/plain").ExpectAsync(HttpStatusCode.UnsupportedMediaType);
    }
}
