using System.Text;
using System.Text.RegularExpressions;

namespace Forge.Tokenization.Tests;

public sealed class PreTokenizerTests
{
    // Letters, marks, digits and other numbers of several categories, every kind of whitespace both engines know,
    // the contraction letters, punctuation, format characters, lone surrogates, and emoji (outside the BMP but not
    // letters or digits, where .NET's UTF-16 Regex and a code-point matcher agree).
    private static readonly string[] Pieces =
    [
        "a", "Z", "é", "ж", "中", "ǅ", "ʰ", "ー", "1", "٣", "Ⅻ", "½", "²", "\u0301", "\u200b", "\u200d", "\ufeff",
        " ", " ", " ", "\t", "\n", "\r", "\r\n", "\v", "\f", "\u0085", "\u00a0", "\u1680", "\u2003", "\u2028", "\u2029", "\u3000", "\u001c",
        "'", "'", "s", "t", "r", "e", "v", "m", "l", "d", "S", "T", "R", "E", "V", "M", "L", "D",
        ",", ".", "!", "-", "_", "(", "\"", "€", "∑", "😀", "👍🏽", "\ud800", "\udfff",
    ];

    private static readonly Regex Gpt2 = new(PreTokenizer.Gpt2Regex, RegexOptions.CultureInvariant);
    private static readonly Regex Cl100k = new(PreTokenizer.Cl100kRegex, RegexOptions.CultureInvariant);

    public static TheoryData<PreTokenizerPattern> Patterns => [PreTokenizerPattern.Gpt2, PreTokenizerPattern.Cl100k];

    [Theory]
    [MemberData(nameof(Patterns))]
    public void TheHandWrittenMatcherSplitsExactlyLikeDotNetRegexOnRandomStrings(PreTokenizerPattern pattern)
    {
        var preTokenizer = PreTokenizer.For(pattern);
        var regex = pattern == PreTokenizerPattern.Gpt2 ? Gpt2 : Cl100k;
        // cl100k's "[^\r\n\p{L}\p{N}]?\p{L}+" takes one code point before a letter, .NET's Regex one UTF-16 unit, so
        // there the strings keep to the BMP (and lone low surrogates, which can never pair up).
        var pieces = pattern == PreTokenizerPattern.Gpt2 ? Pieces : [.. Pieces.Where(p => !p.Any(char.IsSurrogate) || p == "\udfff")];
        var random = new Random(2026);

        for (var i = 0; i < 5000; i++)
        {
            var text = new StringBuilder();
            for (var n = random.Next(0, 40); n > 0; n--)
                text.Append(pieces[random.Next(pieces.Length)]);
            var s = text.ToString();

            var expected = regex.Matches(s).Select(m => (m.Index, m.Length)).ToList();

            Assert.True(expected.SequenceEqual(preTokenizer.Split(s)), $"{pattern} splits {Escape(s)} differently from Regex");
        }
    }

    [Theory]
    [MemberData(nameof(HuggingFaceFixture.Names), MemberType = typeof(HuggingFaceFixture))]
    public void TheGpt2MatcherSplitsLikeHuggingFaceIncludingLettersOutsideTheBmp(string fixture)
    {
        foreach (var sample in HuggingFaceFixture.Named(fixture).Samples.Where(s => !s.Text.Contains("<|", StringComparison.Ordinal)))
        {
            var spans = PreTokenizer.Gpt2.Split(sample.Text).Select(s => ByteLevel.ToTokenString(Encoding.UTF8.GetBytes(sample.Text.Substring(s.Start, s.Length))));

            Assert.Equal(sample.Spans, spans);
        }
    }

    [Fact]
    public void DotNetRegexSplitsLettersOutsideTheBmpWhereHuggingFaceDoesNot()
    {
        const string text = "x𝐀y 𝟙𝟚,";

        var regex = Gpt2.Matches(text).Select(m => m.Value);
        var ours = PreTokenizer.Gpt2.Split(text).Select(s => text.Substring(s.Start, s.Length));

        // .NET's Regex sees the surrogate halves of 𝐀 (a letter) and 𝟙 (a digit) as [^\s\p{L}\p{N}].
        Assert.Equal(["x", "𝐀", "y", " 𝟙𝟚,"], regex);
        // Oniguruma, in Hugging Face, sees code points: TestData/hf-astral/expected.json has HF's own split.
        Assert.Equal(["x𝐀y", " 𝟙𝟚", ","], ours);
    }

    [Theory]
    [InlineData("Hello world", new[] { "Hello", " world" })]
    [InlineData("it's 12345 dollars", new[] { "it", "'s", " 12345", " dollars" })]
    [InlineData("a   b\n\n c", new[] { "a", "  ", " b", "\n\n", " c" })]
    [InlineData("end   ", new[] { "end", "   " })]
    public void Gpt2SplitsAsGpt2Does(string text, string[] spans)
    {
        Assert.Equal(spans, PreTokenizer.Gpt2.Split(text).Select(s => text.Substring(s.Start, s.Length)));
    }

    [Theory]
    [InlineData("It'S 1234567 (cost)", new[] { "It", "'S", " ", "123", "456", "7", " (", "cost", ")" })]
    [InlineData("line one\r\n\r\n  next", new[] { "line", " one", "\r\n\r\n", " ", " next" })]
    [InlineData("x = y;\n", new[] { "x", " =", " y", ";\n" })]
    public void Cl100kSplitsAsGpt4Does(string text, string[] spans)
    {
        Assert.Equal(spans, PreTokenizer.Cl100k.Split(text).Select(s => text.Substring(s.Start, s.Length)));
    }

    private static string Escape(string s) => string.Concat(s.Select(c => c is >= ' ' and < '\u007f' ? c.ToString() : $"\\u{(int)c:x4}"));
}
