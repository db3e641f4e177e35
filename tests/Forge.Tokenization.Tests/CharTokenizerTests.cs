using System.Text;

namespace Forge.Tokenization.Tests;

public sealed class CharTokenizerTests
{
    [Fact]
    public void TheVocabularyIsTheSortedDistinctCharactersOfTheCorpus()
    {
        var tokenizer = CharTokenizer.Train(["hello world\n", "Hi 👋!"]);

        Assert.Equal("\n !Hdehilorw👋", string.Concat(tokenizer.Characters.Select(c => c.ToString())));
        Assert.Equal(13, tokenizer.VocabularySize);
        Assert.Equal([3, 7, 1, 12, 2], tokenizer.Encode("Hi 👋!"));
    }

    [Fact]
    public void TextOfTheCorpusRoundTrips()
    {
        var corpus = VariedText.Generate(seed: 41, length: 20_000);
        var tokenizer = CharTokenizer.Train([corpus]);

        Assert.Equal(corpus, tokenizer.Decode(tokenizer.Encode(corpus)));
        Assert.Equal(corpus.EnumerateRunes().Count(), tokenizer.Encode(corpus).Length);
    }

    [Fact]
    public void ACharacterOutsideTheVocabularyIsRefusedWithItsPosition()
    {
        var tokenizer = CharTokenizer.Train(["abc"]);

        var error = Assert.Throws<ArgumentException>(() => tokenizer.Encode("abz"));

        Assert.Contains("'z' (U+007A) at position 2", error.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => tokenizer.Encode("a\ud800"));
    }

    [Fact]
    public void TheVocabularyIsSavedAndLoaded()
    {
        var tokenizer = CharTokenizer.Train(["To be, or not to be 😀"]);
        using var stream = new MemoryStream();
        tokenizer.Write(stream);
        stream.Position = 0;

        var loaded = CharTokenizer.Read(stream);

        Assert.Equal(tokenizer.Characters, loaded.Characters);
    }

    [Theory]
    [InlineData("{\"type\": \"bpe\"}", "type")]
    [InlineData("{\"type\": \"char\", \"characters\": [\"b\", \"a\"]}", "characters[1]")]
    [InlineData("{\"type\": \"char\", \"characters\": [\"ab\"]}", "characters[0]")]
    [InlineData("not json", "line 1")]
    public void ACorruptCharacterVocabularyIsRefused(string json, string location)
    {
        using var stream = new MemoryStream(Encoding.UTF8.GetBytes(json));

        var error = Assert.Throws<TokenizerFormatException>(() => CharTokenizer.Read(stream));

        Assert.Equal(location, error.Location);
    }
}
