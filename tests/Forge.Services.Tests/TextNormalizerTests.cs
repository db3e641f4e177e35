using Forge.Cleaning.Pipeline;

namespace Forge.Services.Tests;

public sealed class TextNormalizerTests
{
    [Fact]
    public void DecomposedAccentsAreComposed()
    {
        var decomposed = "cafe\u0301";

        Assert.Equal("caf\u00e9", TextNormalizer.Normalize(decomposed));
    }

    [Theory]
    [InlineData("a  b\t\tc", "a b c")]
    [InlineData("  leading and trailing  ", "leading and trailing")]
    [InlineData("line one   \nline two", "line one\nline two")]
    [InlineData("para one\r\n\r\n\r\n\r\npara two", "para one\n\npara two")]
    [InlineData("old\rmac", "old\nmac")]
    [InlineData("no\u00a0break\u2003em", "no break em")]
    [InlineData("bell\u0007 and\u0000 nul", "bell and nul")]
    [InlineData("zero\u200bwidth\ufeffbom", "zerowidthbom")]
    public void WhitespaceAndControlCharactersAreTidied(string input, string expected)
    {
        Assert.Equal(expected, TextNormalizer.Normalize(input));
    }

    [Theory]
    [InlineData("")]
    [InlineData("   \n\t ")]
    [InlineData("\u200b\u0007")]
    public void TextWithNothingVisibleBecomesEmpty(string input)
    {
        Assert.Equal("", TextNormalizer.Normalize(input));
    }

    [Fact]
    public void EmojiSequencesAndOtherScriptsSurviveUnchanged()
    {
        var text = "Family: 👨‍👩‍👧 — 日本語のテキスト, हिन्दी, العربية";

        Assert.Equal(text, TextNormalizer.Normalize(text));
    }

    [Fact]
    public void NormalizingTwiceChangesNothingMore()
    {
        var once = TextNormalizer.Normalize(" a\r\n\r\n\r\nb\u0301  c ");

        Assert.Equal(once, TextNormalizer.Normalize(once));
    }
}
