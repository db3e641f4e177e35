using Forge.Metrics;

namespace Forge.Metrics.Tests;

// Expected values come from sacrebleu's README and test/test_chrf.py (tolerance 1e-4, as there), and
// from the Hugging Face `chrf` metric card, whose examples run sacrebleu's CHRF with its defaults.
public sealed class ChrFTests
{
    private const double SacrebleuTolerance = 1e-4;

    private static readonly string[] CardPredictions =
    [
        "The relationship between cats and dogs is not exactly friendly.",
        "a good bookshop is just a genteel black hole that knows how to read.",
    ];

    private static readonly IReadOnlyList<IReadOnlyList<string>> CardReferences =
    [
        ["The relationship between dogs and cats is not exactly friendly.", "A good bookshop is just a genteel Black Hole that knows how to read."],
    ];

    [Fact]
    public void TheSacrebleuReadmeExampleScores59Point73()
    {
        string[] hypotheses = ["The dog bit the man.", "It wasn't surprising.", "The man had just bitten him."];
        IReadOnlyList<IReadOnlyList<string>> references =
        [
            ["The dog bit the man.", "It was not unexpected.", "The man bit him first."],
            ["The dog had bit the man.", "No one was surprised.", "The man had bitten the dog."],
        ];

        var chrF = ChrF.Corpus(hypotheses, references);

        Assert.Equal(59.73, chrF.Score, 2);
        Assert.Equal("chrF2", chrF.Name);
    }

    [Fact]
    public void ChrFMatchesTheMetricCardExample()
    {
        Assert.Equal(84.64214891738334, ChrF.Corpus(CardPredictions, CardReferences).Score);
    }

    [Fact]
    public void ChrFPlusPlusAddsWordNgramsAsInTheMetricCardExample()
    {
        var chrF = ChrF.Corpus(CardPredictions, CardReferences, ChrFOptions.ChrFPlusPlus);

        Assert.Equal(82.87263732906315, chrF.Score);
        Assert.Equal("chrF2++", chrF.Name);
    }

    [Fact]
    public void LowercasedChrFPlusPlusMatchesTheMetricCardExample()
    {
        var chrF = ChrF.Corpus(CardPredictions, CardReferences, ChrFOptions.ChrFPlusPlus with { Lowercase = true });

        Assert.Equal(92.12853119829202, chrF.Score);
    }

    [Theory]
    [InlineData(new[] { "abcdefg" }, new[] { "hijklmnop" }, 0.0)]
    [InlineData(new[] { "a" }, new[] { "b" }, 0.0)]
    [InlineData(new[] { "" }, new[] { "b" }, 0.0)]
    [InlineData(new[] { "" }, new[] { "ref" }, 0.0)]
    [InlineData(new[] { "" }, new[] { "reference" }, 0.0)]
    [InlineData(new[] { "aa" }, new[] { "ab" }, 8.3333)]
    [InlineData(new[] { "a", "b" }, new[] { "a", "c" }, 8.3333)]
    [InlineData(new[] { "a" }, new[] { "a" }, 16.6667)]
    [InlineData(new[] { "a b c" }, new[] { "a b c" }, 50.0)]
    [InlineData(new[] { "a b c" }, new[] { "abc" }, 50.0)]
    [InlineData(
        new[] { " risk assessment must be made of those who are qualified and expertise in the sector - these are the scientists ." },
        new[] { "risk assessment has to be undertaken by those who are qualified and expert in that area - that is the scientists ." },
        63.361730)]
    [InlineData(
        new[] { " Die    Beziehung zwischen  Obama und Netanjahu ist nicht gerade  freundlich. " },
        new[] { "Das Verhältnis zwischen Obama und Netanyahu ist nicht gerade freundschaftlich." },
        64.1302698)]
    [InlineData(
        new[] { "Niemand hat die Absicht, eine Mauer zu errichten" },
        new[] { "Niemand hat die Absicht, eine Mauer zu errichten" },
        100.0)]
    public void EpsilonSmoothingAveragesPerOrderFScoresLikeChrFPlusPlusPy(string[] hypotheses, string[] references, double expected)
    {
        var options = new ChrFOptions { Beta = 3, EpsilonSmoothing = true };

        Assert.Equal(expected, ChrF.Corpus(hypotheses, [references], options).Score, SacrebleuTolerance);
    }

    [Theory]
    [InlineData(new[] { "a" }, new[] { "a" }, 100.0)]
    [InlineData(new[] { "" }, new[] { "reference" }, 0.0)]
    [InlineData(new[] { "a b c" }, new[] { "a b c" }, 100.0)]
    [InlineData(new[] { "a b c" }, new[] { "abc" }, 100.0)]
    [InlineData(new[] { "" }, new[] { "c" }, 0.0)]
    [InlineData(new[] { "a", "b" }, new[] { "a", "c" }, 50.0)]
    [InlineData(new[] { "aa" }, new[] { "ab" }, 25.0)]
    public void TheDefaultAveragesOnlyOverOrdersThatHaveNgrams(string[] hypotheses, string[] references, double expected)
    {
        Assert.Equal(expected, ChrF.Corpus(hypotheses, [references], new ChrFOptions { Beta = 3 }).Score, SacrebleuTolerance);
    }

    [Theory]
    [InlineData(
        "Die Beziehung zwischen Obama und Netanjahu ist nicht gerade freundlich.",
        "Das Verhältnis zwischen Obama und Netanyahu ist nicht gerade freundschaftlich.",
        67.3481606)]
    [InlineData(
        "risk assessment must be made of those who are qualified and expertise in the sector - these are the scientists .",
        "risk assessment has to be undertaken by those who are qualified and expert in that area - that is the scientists .",
        65.2414427)]
    public void WhitespaceCanBeKeptInsideCharacterNgrams(string hypothesis, string reference, double expected)
    {
        var options = new ChrFOptions { Beta = 3, IncludeWhitespace = true };

        Assert.Equal(expected, ChrF.Corpus([hypothesis], [[reference]], options).Score, SacrebleuTolerance);
    }

    [Theory]
    [InlineData(
        "Co nás nejvíc trápí, protože lékaři si vybírají, kdo bude žít a kdo zemře.",
        "Nejvíce smutní jsme z toho, že musíme rozhodovat o tom, kdo bude žít a kdo zemře.",
        39.14078509)]
    [InlineData(
        "Nebo prostě nemají vybavení, které by jim pomohlo, uvedli lékaři.",
        "A někdy nemáme ani potřebný materiál, abychom jim pomohli, popsali lékaři.",
        31.22557079)]
    [InlineData(
        "Lapali po dechu, jejich životy skončily dřív, než skutečně začaly.",
        "Lapali po dechu a pak jejich život skončil - dřív, než skutečně mohl začít, připomněli.",
        57.15704367)]
    public void SentenceChrFMatchesSacrebleuOnCzech(string hypothesis, string reference, double expected)
    {
        var chrF = ChrF.Sentence(hypothesis, [reference], new ChrFOptions { EpsilonSmoothing = true });

        Assert.Equal(expected, chrF.Score, SacrebleuTolerance);
    }

    [Fact]
    public void TheBestScoringReferenceOfASegmentIsTheOneCounted()
    {
        // Against "abc" the hypothesis matches every character n-gram; against "xyz" none. Adding the
        // poor reference, before or after the good one, leaves the score at 100.
        Assert.Equal(100.0, ChrF.Sentence("abc", ["xyz", "abc"]).Score, 1e-12);
        Assert.Equal(100.0, ChrF.Sentence("abc", ["abc", "xyz"]).Score, 1e-12);
        Assert.Equal(0.0, ChrF.Sentence("abc", ["xyz"]).Score);
    }

    [Fact]
    public void ChrFPlusPlusSplitsOnlyOnePunctuationMarkOffAWord()
    {
        // sacrebleu #124, kept for parity: "(hi)" yields the words "(hi" and ")", while "( hi )" yields
        // "(", "hi" and ")". Without whitespace both are "(hi)", so character orders 1-4 match fully
        // and orders 5-6 have no n-grams. Word unigrams: 1 match of 2 and of 3; word bigrams "(hi )"
        // against "( hi" and "hi )": none. Averaged over the 6 orders with n-grams:
        // precision (4 + 1/2 + 0) / 6 = 3/4, recall (4 + 1/3 + 0) / 6 = 13/18,
        // chrF++ = 100 * 5 * (3/4) * (13/18) / (4 * 3/4 + 13/18) = 100 * 195/268.
        var chrF = ChrF.Sentence("(hi)", ["( hi )"], ChrFOptions.ChrFPlusPlus);

        Assert.Equal(100.0 * 195 / 268, chrF.Score, 1e-9);
    }
}
