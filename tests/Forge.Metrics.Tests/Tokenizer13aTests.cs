using Forge.Metrics;

namespace Forge.Metrics.Tests;

// Each expected output is traced by hand through tokenizer_13a: the unescaping and line-joining
// replacements, then its four regexes, then whitespace normalisation.
public sealed class Tokenizer13aTests
{
    [Theory]
    [InlineData("Hello, world.", "Hello , world .")]
    [InlineData("It costs $3.50, or 1,000 yen.", "It costs $ 3.50 , or 1,000 yen .")]
    [InlineData("It wasn't pre-trained.", "It wasn't pre-trained .")]
    [InlineData("From 1990-2000 and 5-a-side.", "From 1990 - 2000 and 5 - a-side .")]
    [InlineData("e.g. U.S.A.", "e . g . U . S . A .")]
    [InlineData("Nr.5 and .5 and 5.", "Nr . 5 and . 5 and 5 .")]
    [InlineData("(see [1]) {x} ~y @z #1 50% a/b", "( see [ 1 ] ) { x } ~ y @ z # 1 50 % a / b")]
    [InlineData("end.\"", "end . \"")]
    [InlineData("  spaced \t out  ", "spaced out")]
    public void PunctuationIsSplitOffByContext(string line, string expected)
    {
        Assert.Equal(expected, Tokenizer13a.Tokenize(line));
    }

    [Theory]
    [InlineData("&quot;Hi&quot; &amp; &lt;b&gt;", "\" Hi \" & < b >")]
    [InlineData("&amp;lt;", "<")]
    public void HtmlEntitiesAreUnescapedInMtevalsOrder(string line, string expected)
    {
        Assert.Equal(expected, Tokenizer13a.Tokenize(line));
    }

    [Fact]
    public void SkippedMarkersVanishAndLineEndsJoin()
    {
        Assert.Equal("a b", Tokenizer13a.Tokenize("a <skipped> b"));
        Assert.Equal("hyphenated line break", Tokenizer13a.Tokenize("hyphen-\nated line\nbreak"));
    }

    [Fact]
    public void PythonsWhitespaceSeparatesTokens()
    {
        // Python's str.split() also splits on the information separators U+001C..U+001F.
        Assert.Equal("a b c", Tokenizer13a.Tokenize("a\u001Cb\u3000c"));
    }
}
