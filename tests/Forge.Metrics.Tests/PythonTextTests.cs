using Forge.Metrics;

namespace Forge.Metrics.Tests;

// Python's documented str semantics: isspace() is true for the Unicode whitespace characters
// (bidirectional class WS, B or S, or category Zs), and lower() applies SpecialCasing's İ and
// Final_Sigma rules.
public sealed class PythonTextTests
{
    [Fact]
    public void WhitespaceIsExactlyPythonsIsSpaceSet()
    {
        int[] pythonWhitespace =
        [
            0x09, 0x0A, 0x0B, 0x0C, 0x0D, 0x1C, 0x1D, 0x1E, 0x1F, 0x20, 0x85, 0xA0, 0x1680,
            0x2000, 0x2001, 0x2002, 0x2003, 0x2004, 0x2005, 0x2006, 0x2007, 0x2008, 0x2009, 0x200A,
            0x2028, 0x2029, 0x202F, 0x205F, 0x3000,
        ];

        var whitespace = Enumerable.Range(0, 0x10000).Where(c => PythonText.IsWhiteSpace((char)c));

        Assert.Equal(pythonWhitespace, whitespace);
    }

    [Fact]
    public void SplitDropsEmptyWords()
    {
        Assert.Equal(["a", "b"], PythonText.Split("  a \u2009\u00A0 b\n"));
        Assert.Empty(PythonText.Split(" \t "));
    }

    [Theory]
    [InlineData("ΟΔΟΣ", "οδος")]
    [InlineData("ΟΔΟΣ ΣΑΣ.", "οδος σας.")]
    [InlineData("Σ", "σ")]
    [InlineData("ΑΣΑ", "ασα")]
    [InlineData("İstanbul", "i\u0307stanbul")]
    [InlineData("\u212A", "k")]
    [InlineData("ÀÉÎ Straße", "àéî straße")]
    public void LowerFollowsPython(string text, string expected)
    {
        Assert.Equal(expected, PythonText.Lower(text));
    }

    [Fact]
    public void CharacterNgramsNeverSplitASurrogatePair()
    {
        // Python slices by code point: "a😀b" has three characters.
        Assert.Equal([0, 1, 3, 4], PythonText.CodePointStarts("a😀b"));
    }
}
