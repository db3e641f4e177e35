using System.Text.RegularExpressions;
using Forge.Testing;
using Ml = Microsoft.ML.Tokenizers;

namespace Forge.Tokenization.Tests;

/// <summary>
/// Microsoft.ML.Tokenizers 2.0.1 as a second opinion. The configuration that reproduces GPT-2 byte-level BPE is
/// <c>BpeTokenizer.Create(new BpeOptions(vocab.json, merges.txt) { ByteLevel = true, PreTokenizer = a RegexPreTokenizer
/// with the GPT-2 pattern, SpecialTokens })</c>; <c>BpeTokenizer.Create(vocab, merges)</c> alone splits on
/// <c>\w+|[^\w\s]+</c> without the byte mapping and disagrees almost everywhere, and <c>CodeGenTokenizer</c> adds its own
/// whitespace-run tokens. Hugging Face is the reference wherever they differ.
/// </summary>
public sealed class InteropTests : IDisposable
{
    private readonly TemporaryFolder _folder = new("interop");

    private Ml.BpeTokenizer LoadIntoMicrosoftMl(BpeTokenizer tokenizer)
    {
        var vocab = Path.Combine(_folder.Path, "vocab.json");
        var merges = Path.Combine(_folder.Path, "merges.txt");
        TokenizerFiles.WriteGpt2(tokenizer, vocab, merges);
        var specials = tokenizer.AddedTokens.ToDictionary(t => t.Content, t => t.Id);
        return Ml.BpeTokenizer.Create(new Ml.BpeOptions(vocab, merges)
        {
            ByteLevel = true,
            SpecialTokens = specials,
            PreTokenizer = new Ml.RegexPreTokenizer(new Regex(PreTokenizer.Gpt2Regex, RegexOptions.Compiled), specials),
        });
    }

    [Fact]
    public void MicrosoftMlGivesOurIdsForOurVocabularyOnVariedText()
    {
        var ours = TrainedTokenizer.Instance;
        var microsoft = LoadIntoMicrosoftMl(ours);
        var lines = VariedText.Generate(seed: 2, length: 200_000).Split('\n');

        var differing = lines.Where(line => !ours.Encode(line).SequenceEqual(microsoft.EncodeToIds(line))).ToList();

        Assert.True(lines.Length > 1000);
        Assert.Empty(differing);
    }

    [Fact]
    public void MicrosoftMlDecodesOurIdsToTheSameText()
    {
        var ours = TrainedTokenizer.Instance;
        var microsoft = LoadIntoMicrosoftMl(ours);
        var text = VariedText.Generate(seed: 3, length: 20_000);

        Assert.Equal(text, microsoft.Decode(ours.Encode(text)));
    }

    [Fact]
    public void WhereMicrosoftMlSplitsLettersOutsideTheBmpWeFollowHuggingFace()
    {
        // HF's tokenizer.json for a corpus with letters and digits outside the BMP next to other characters.
        var huggingFace = HuggingFaceFixture.Astral;
        var ours = TokenizerFiles.ReadHuggingFace(huggingFace.TokenizerPath);
        var microsoft = LoadIntoMicrosoftMl(ours);
        var sample = huggingFace.Samples[0];

        Assert.Equal("x𝐀y a𝐁b the𝐀", sample.Text);
        // HF (Oniguruma, code points): "x𝐀y", " a𝐁b", " the𝐀" are words, each one learned token.
        Assert.Equal([41, 62, 58], sample.Ids);
        Assert.Equal(sample.Ids, ours.Encode(sample.Text));
        // Microsoft.ML (.NET Regex, UTF-16 units) cuts "x" | "𝐀" | "y", " a" | "𝐁" | "b", " the" | "𝐀": nine tokens.
        Assert.Equal([17, 37, 18, 50, 44, 6, 52, 9, 37], microsoft.EncodeToIds(sample.Text));
        Assert.Equal(["x", "𝐀", "y", " a", "𝐁", "b", " th", "e", "𝐀"], microsoft.EncodeToIds(sample.Text).Select(id => ours.Decode([id])));
    }

    public void Dispose() => _folder.Dispose();
}
