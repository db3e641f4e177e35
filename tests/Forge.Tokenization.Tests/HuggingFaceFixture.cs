using System.Text.Json;

namespace Forge.Tokenization.Tests;

/// <summary>
/// Files written once by Hugging Face's tokenizers (npm package 0.23.2, with bench/tokenizer/hf/make-fixture.js, which
/// reproduces them byte for byte) for a small corpus: HF's tokenizer.json trained on corpus.txt, and HF's ids and
/// GPT-2 pre-tokenisation of each text of samples.json. hf-tiny is varied text; hf-cl100k is the same text trained with
/// GPT-4's cl100k split; hf-astral has letters and digits outside the BMP.
/// </summary>
public sealed class HuggingFaceFixture
{
    private static readonly JsonSerializerOptions Web = new(JsonSerializerDefaults.Web);

    public static HuggingFaceFixture Tiny { get; } = new("hf-tiny");

    public static HuggingFaceFixture Cl100k { get; } = new("hf-cl100k", PreTokenizerPattern.Cl100k);

    public static HuggingFaceFixture Astral { get; } = new("hf-astral");

    public static TheoryData<string> Names => [Tiny.Name, Cl100k.Name, Astral.Name];

    public static HuggingFaceFixture Named(string name) => new[] { Tiny, Cl100k, Astral }.Single(f => f.Name == name);

    private HuggingFaceFixture(string name, PreTokenizerPattern pattern = PreTokenizerPattern.Gpt2)
    {
        Name = name;
        Pattern = pattern;
        Folder = Path.Combine(AppContext.BaseDirectory, "TestData", name);
        Samples = JsonSerializer.Deserialize<List<Sample>>(File.ReadAllText(Path.Combine(Folder, "expected.json")), Web)!;
    }

    public string Name { get; }

    public PreTokenizerPattern Pattern { get; }

    public string Folder { get; }

    public string CorpusPath => Path.Combine(Folder, "corpus.txt");

    public string TokenizerPath => Path.Combine(Folder, "tokenizer.json");

    public IReadOnlyList<Sample> Samples { get; }

    /// <summary>HF's merges, in rank order, read from its tokenizer.json.</summary>
    public IReadOnlyList<(string, string)> Merges()
    {
        using var document = JsonDocument.Parse(File.ReadAllText(TokenizerPath));
        return [.. document.RootElement.GetProperty("model").GetProperty("merges").EnumerateArray().Select(m => (m[0].GetString()!, m[1].GetString()!))];
    }

    public sealed record Sample(string Text, int[] Ids, string[] Spans);
}
