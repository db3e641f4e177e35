using System.Text.Json;
using Forge.Testing;

namespace Forge.Tokenization.Tests;

public sealed class TokenizerFilesTests : IDisposable
{
    private readonly TemporaryFolder _folder = new("tokenizer-files");
    private static readonly string Sample = VariedText.Generate(seed: 31, length: 50_000);

    private string PathOf(string name) => Path.Combine(_folder.Path, name);

    [Theory]
    [InlineData(PreTokenizerPattern.Gpt2)]
    [InlineData(PreTokenizerPattern.Cl100k)]
    public void ExportingAndImportingTokenizerJsonGivesIdenticalEncodings(PreTokenizerPattern pattern)
    {
        var trained = BpeTrainer.Train(VariedText.Generate(30, 100_000).Split('\n'), new BpeTrainingOptions { VocabularySize = 1500, Pattern = pattern });
        TokenizerFiles.WriteHuggingFace(trained, PathOf("tokenizer.json"));

        var imported = TokenizerFiles.ReadHuggingFace(PathOf("tokenizer.json"));

        Assert.Equal(pattern, imported.PreTokenizer.Pattern);
        Assert.Equal(trained.Tokens, imported.Tokens);
        Assert.Equal(trained.AddedTokens, imported.AddedTokens);
        Assert.Equal(trained.Encode(Sample), imported.Encode(Sample));
    }

    [Fact]
    public void ExportingAndImportingGpt2FilesGivesIdenticalEncodings()
    {
        var trained = TrainedTokenizer.Instance;
        TokenizerFiles.WriteGpt2(trained, PathOf("vocab.json"), PathOf("merges.txt"));

        var imported = TokenizerFiles.ReadGpt2(PathOf("vocab.json"), PathOf("merges.txt"));

        Assert.Equal("#version: 0.2", File.ReadLines(PathOf("merges.txt")).First());
        Assert.Equal(trained.Tokens, imported.Tokens);
        Assert.Equal(trained.AddedTokens, imported.AddedTokens);
        Assert.Equal(trained.Encode(Sample), imported.Encode(Sample));
    }

    [Fact]
    public void TheExportedTokenizerJsonHasHuggingFacesShape()
    {
        TokenizerFiles.WriteHuggingFace(TrainedTokenizer.Instance, PathOf("tokenizer.json"));

        using var json = JsonDocument.Parse(File.ReadAllText(PathOf("tokenizer.json")));
        var root = json.RootElement;

        Assert.Equal("BPE", root.GetProperty("model").GetProperty("type").GetString());
        Assert.Equal(0, root.GetProperty("model").GetProperty("vocab").GetProperty("<|endoftext|>").GetInt32());
        Assert.Equal(["Ġ", "t"], root.GetProperty("model").GetProperty("merges")[0].EnumerateArray().Select(e => e.GetString()));
        var pre = root.GetProperty("pre_tokenizer");
        Assert.Equal(("ByteLevel", false, true), (pre.GetProperty("type").GetString(), pre.GetProperty("add_prefix_space").GetBoolean(), pre.GetProperty("use_regex").GetBoolean()));
        Assert.Equal("ByteLevel", root.GetProperty("decoder").GetProperty("type").GetString());
        var first = root.GetProperty("added_tokens")[0];
        Assert.Equal((0, "<|endoftext|>", true, false), (first.GetProperty("id").GetInt32(), first.GetProperty("content").GetString(), first.GetProperty("special").GetBoolean(), first.GetProperty("normalized").GetBoolean()));
    }

    [Theory]
    [MemberData(nameof(HuggingFaceFixture.Names), MemberType = typeof(HuggingFaceFixture))]
    public void ATokenizerJsonWrittenByHuggingFaceImportsAndEncodesAsHuggingFaceDoes(string fixture)
    {
        var huggingFace = HuggingFaceFixture.Named(fixture);

        var imported = TokenizerFiles.ReadHuggingFace(huggingFace.TokenizerPath);

        Assert.Equal(huggingFace.Pattern, imported.PreTokenizer.Pattern);
        foreach (var sample in huggingFace.Samples)
            Assert.True(sample.Ids.SequenceEqual(imported.Encode(sample.Text)), $"'{sample.Text}' encodes differently from HF");
        // HF trained without the byte alphabet: bytes it never saw have no token, and (as in HF) are dropped.
        Assert.False(imported.CoversAllBytes);
    }

    [Fact]
    public void AHuggingFaceTokenizerJsonSurvivesOurExportUnchanged()
    {
        var imported = TokenizerFiles.ReadHuggingFace(HuggingFaceFixture.Tiny.TokenizerPath);
        TokenizerFiles.WriteHuggingFace(imported, PathOf("again.json"));

        var again = TokenizerFiles.ReadHuggingFace(PathOf("again.json"));

        Assert.Equal(imported.Tokens, again.Tokens);
        Assert.Equal(imported.Merges, again.Merges);
        Assert.Equal(imported.AddedTokens, again.AddedTokens);
    }

    public static TheoryData<string, string, string> CorruptTokenizerJson => new()
    {
        { "{\"model\": ", "line 1, byte 11", "not valid JSON" },
        { "[]", "$", "expected an object, found an array" },
        { Tiny(t => t.AsObject().Remove("model")), "model", "this field is missing" },
        { Tiny(t => t["model"]!["type"] = "WordPiece"), "model.type", "model type 'WordPiece' is not supported" },
        { Tiny(t => t["model"]!["merges"]!.AsArray()[3] = "Ġ x y"), "model.merges[3]", "two tokens separated by one space" },
        { Tiny(t => t["model"]!["merges"]!.AsArray()[5] = new System.Text.Json.Nodes.JsonArray("Ġ", "not-a-token")), "model.merges[5]", "'not-a-token' is not in the vocabulary" },
        { Tiny(t => t["model"]!["merges"]!.AsArray()[0] = 7), "model.merges[0]", "a merge is" },
        { Tiny(t => t["model"]!["vocab"]!["e"] = 0), "model.vocab[\"e\"]", "id 0 is used by both" },
        { Tiny(t => t["model"]!["vocab"]!["e"] = "five"), "model.vocab[\"e\"]", "non-negative integer" },
        { Tiny(t => t["model"]!["vocab"]!.AsObject().Remove("!")), "model.vocab", "id 0 is missing" },
        { Tiny(t => t["normalizer"] = new System.Text.Json.Nodes.JsonObject { ["type"] = "NFC" }), "normalizer", "'NFC' is not supported" },
        { Tiny(t => t["pre_tokenizer"]!["type"] = "Whitespace"), "pre_tokenizer.type", "'Whitespace' is not supported" },
        { Tiny(t => t["pre_tokenizer"]!["add_prefix_space"] = true), "pre_tokenizer.add_prefix_space", "not supported" },
        { Tiny(t => t["added_tokens"]![0]!["lstrip"] = true), "added_tokens[0].lstrip", "not supported" },
        { Tiny(t => t["added_tokens"]![0]!["id"] = 3), "added_tokens[0]", "id 3 is '$' in model.vocab" },
        { Tiny(t => t["model"]!["byte_fallback"] = "yes"), "model.byte_fallback", "expected true or false" },
    };

    [Theory]
    [MemberData(nameof(CorruptTokenizerJson))]
    public void ACorruptTokenizerJsonIsRefusedNamingTheField(string content, string location, string problem)
    {
        File.WriteAllText(PathOf("tokenizer.json"), content);

        var error = Assert.Throws<TokenizerFormatException>(() => TokenizerFiles.ReadHuggingFace(PathOf("tokenizer.json")));

        Assert.Equal("tokenizer.json", error.File);
        Assert.Equal(location, error.Location);
        Assert.Contains(problem, error.Problem, StringComparison.Ordinal);
        Assert.StartsWith($"tokenizer.json: {location}: ", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("#version: 0.2\nĠ t\nĠt\n", "line 3", "two tokens separated by one space")]
    [InlineData("#version: 0.2\nĠ t\nq z\n", "line 3", "'q' is not in the vocabulary")]
    [InlineData("Ġ t\nt Ġ\n", "line 2", "the merged token 'tĠ' is not in the vocabulary")]
    public void ACorruptMergesFileIsRefusedNamingTheLine(string merges, string location, string problem)
    {
        File.WriteAllText(PathOf("vocab.json"), "{\"Ġ\": 0, \"t\": 1, \"Ġt\": 2}");
        File.WriteAllText(PathOf("merges.txt"), merges);

        var error = Assert.Throws<TokenizerFormatException>(() => TokenizerFiles.ReadGpt2(PathOf("vocab.json"), PathOf("merges.txt")));

        Assert.Equal(("merges.txt", location), (error.File, error.Location));
        Assert.Contains(problem, error.Problem, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("[\"Ġ\", \"t\"]", "$", "expected an object, found an array")]
    [InlineData("{\"Ġ\": 0, \"t\": -1}", "[\"t\"]", "non-negative integer")]
    [InlineData("{\"Ġ\": 0, \"t\": 2}", "$", "id 1 is missing")]
    [InlineData("{\"Ġ\": 0, \"t\": 1, \"t\": 2}", "$", "'t' appears twice")]
    public void ACorruptVocabularyFileIsRefused(string vocab, string location, string problem)
    {
        File.WriteAllText(PathOf("vocab.json"), vocab);
        File.WriteAllText(PathOf("merges.txt"), "#version: 0.2\n");

        var error = Assert.Throws<TokenizerFormatException>(() => TokenizerFiles.ReadGpt2(PathOf("vocab.json"), PathOf("merges.txt")));

        Assert.Equal(("vocab.json", location), (error.File, error.Location));
        Assert.Contains(problem, error.Problem, StringComparison.Ordinal);
    }

    private static string Tiny(Action<System.Text.Json.Nodes.JsonNode> corrupt)
    {
        var node = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(HuggingFaceFixture.Tiny.TokenizerPath))!;
        corrupt(node);
        return node.ToJsonString();
    }

    public void Dispose() => _folder.Dispose();
}
