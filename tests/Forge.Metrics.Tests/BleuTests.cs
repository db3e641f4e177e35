using Forge.Metrics;

namespace Forge.Metrics.Tests;

// Expected values come from sacrebleu's README and test suite (test/test_bleu.py,
// test/test_sentence_bleu.py), with the tolerance those tests use, or are worked out by hand in a comment.
public sealed class BleuTests
{
    private static readonly string[] ReadmeHypotheses =
    [
        "The dog bit the man.",
        "It wasn't surprising.",
        "The man had just bitten him.",
    ];

    private static readonly IReadOnlyList<IReadOnlyList<string>> ReadmeReferences =
    [
        ["The dog bit the man.", "It was not unexpected.", "The man bit him first."],
        ["The dog had bit the man.", "No one was surprised.", "The man had bitten the dog."],
    ];

    // sacrebleu's raw_corpus_bleu: no tokenization, floor smoothing, effective order.
    private static BleuOptions Raw(double? floor) => new()
    {
        Tokenizer = BleuTokenizer.None,
        Smoothing = BleuSmoothing.Floor,
        SmoothValue = floor,
        EffectiveOrder = true,
    };

    [Fact]
    public void TheReadmeExampleScores48Point53WithSacrebleusPrecisionsAndBrevityPenalty()
    {
        var bleu = Bleu.Corpus(ReadmeHypotheses, ReadmeReferences);

        // README: BLEU = 48.53 82.4/50.0/45.5/37.5 (BP = 0.943 ratio = 0.944 hyp_len = 17 ref_len = 18)
        Assert.Equal(48.53, bleu.Score, 2);
        Assert.Equal(48.530827, bleu.Score, 1e-6);
        Assert.Equal([82.4, 50.0, 45.5, 37.5], bleu.Precisions.Select(p => Math.Round(p, 1)));
        Assert.Equal(0.943, bleu.BrevityPenalty, 3);
        Assert.Equal(0.944, bleu.Ratio, 3);
        Assert.Equal(17, bleu.SystemLength);
        Assert.Equal(18, bleu.ReferenceLength);
        // 17 tokens in 3 segments give 14 bigrams, 11 trigrams and 8 four-grams; 14/17 is the only
        // unigram count that rounds to 82.4.
        Assert.Equal([17, 14, 11, 8], bleu.Totals);
        Assert.Equal([14, 7, 5, 3], bleu.Counts);
    }

    [Fact]
    public void EmptyHypothesesScoreZeroInsteadOfFailing()
    {
        var bleu = Bleu.Corpus(["", "", ""], ReadmeReferences);

        Assert.Equal(0.0, bleu.Score);
        Assert.Equal(0, bleu.SystemLength);
        Assert.Equal(0.0, bleu.BrevityPenalty);
        Assert.Equal(0.0, Bleu.Sentence("", ["a reference"]).Score);
    }

    [Theory]
    [InlineData(BleuSmoothing.Exp, BleuTokenizer.ThirteenA, 48.530827)]
    [InlineData(BleuSmoothing.None, BleuTokenizer.ThirteenA, 48.530827)]
    [InlineData(BleuSmoothing.Exp, BleuTokenizer.None, 49.1919566)]
    public void TheReadmeExampleMatchesSacrebleusCorpusTests(BleuSmoothing smoothing, BleuTokenizer tokenizer, double expected)
    {
        var bleu = Bleu.Corpus(ReadmeHypotheses, ReadmeReferences, new BleuOptions { Smoothing = smoothing, Tokenizer = tokenizer });

        Assert.Equal(expected, bleu.Score, 1e-6);
    }

    [Theory]
    [InlineData(1, "77.65")]
    [InlineData(2, "60.50")]
    [InlineData(3, "53.93")]
    [InlineData(4, "48.53")]
    [InlineData(5, "46.14")]
    [InlineData(6, "43.28")]
    public void TheMaximumNgramOrderIsConfigurable(int order, string expected)
    {
        var bleu = Bleu.Corpus(ReadmeHypotheses, ReadmeReferences, new BleuOptions { MaxNgramOrder = order });

        Assert.Equal(expected, bleu.Score.ToString("F2", System.Globalization.CultureInfo.InvariantCulture));
        Assert.Equal(order, bleu.Precisions.Count);
    }

    [Fact]
    public void AnEmptyReferenceIsLeftOutSoSegmentsMayHaveFewerReferences()
    {
        IReadOnlyList<IReadOnlyList<string>> references =
        [
            ["", "It was not unexpected.", "The man bit him first."],
            ["The dog had bit the man.", "No one was surprised.", "The man had bitten the dog."],
        ];

        var bleu = Bleu.Corpus(ReadmeHypotheses, references);

        // README: BLEU = 29.44 82.4/42.9/27.3/12.5 (BP = 0.889 ratio = 0.895 hyp_len = 17 ref_len = 19)
        Assert.Equal(29.44, bleu.Score, 2);
        Assert.Equal([82.4, 42.9, 27.3, 12.5], bleu.Precisions.Select(p => Math.Round(p, 1)));
        Assert.Equal(0.889, bleu.BrevityPenalty, 3);
        Assert.Equal(0.895, bleu.Ratio, 3);
        Assert.Equal(19, bleu.ReferenceLength);
    }

    [Fact]
    public void ASegmentWithoutAnyReferenceIsRefused()
    {
        Assert.Throws<ArgumentException>(() => Bleu.Corpus(["a b"], [[""]]));
        Assert.Throws<ArgumentException>(() => Bleu.Corpus(["a b", "c"], [["a b"]]));
    }

    [Theory]
    [InlineData(new[] { "this is a test", "another test" }, new[] { "ref1", "ref2" }, 0.0)]
    [InlineData(new[] { "this is a test" }, new[] { "this is a test" }, 1.0)]
    [InlineData(new[] { "this is a fest" }, new[] { "this is a test" }, 0.223606797749979)]
    [InlineData(new[] { "test" }, new[] { "a test" }, 0.3678794411714425)]
    [InlineData(new[] { "a test" }, new[] { "a test" }, 1.0)]
    [InlineData(new[] { "a little test" }, new[] { "a test" }, 0.03218297948685433)]
    public void RawCorpusBleuMatchesSacrebleusEffectiveOrderTests(string[] hypotheses, string[] references, double expected)
    {
        var bleu = Bleu.Corpus(hypotheses, [references], Raw(0.01));

        Assert.Equal(expected, bleu.Score / 100, 1e-8);
    }

    [Fact]
    public void CountsAndTotalsAreTheClippedAndTotalNgramsPerOrder()
    {
        var bleu = Bleu.Corpus(["am I am a character sequence"], [["I am a symbol string sequence a a"]], Raw(0.01));

        Assert.Equal([4, 2, 1, 0], bleu.Counts);
        Assert.Equal([6, 5, 4, 3], bleu.Totals);
    }

    [Fact]
    public void FloorSmoothingDefaultsToOneTenthAndAZeroFloorGivesZero()
    {
        string[] hypothesis = ["am I am a character sequence"];
        IReadOnlyList<IReadOnlyList<string>> reference = [["I am a symbol string sequence a a"]];

        Assert.Equal(0.0, Bleu.Corpus(hypothesis, reference, Raw(0.0)).Score / 100, 1e-8);
        Assert.Equal(0.1555722182, Bleu.Corpus(hypothesis, reference, Raw(null)).Score / 100, 1e-8);
    }

    [Fact]
    public void ScoresComeFromSummedStatisticsAsInComputeBleu()
    {
        var bleu = Bleu.FromStatistics([9, 7, 5, 3], [10, 8, 6, 4], 11, 11, new BleuOptions { Smoothing = BleuSmoothing.None });

        Assert.Equal(0.8375922397, bleu.Score / 100, 1e-8);
    }

    [Theory]
    [InlineData(new[] { 0, 0, 0, 0 }, new[] { 4, 4, 2, 1 }, 0, 1, 0.0)]
    [InlineData(new[] { 0, 0, 0, 0 }, new[] { 10, 11, 12, 0 }, 14, 10, 0.0)]
    [InlineData(new[] { 0, 0, 0, 0 }, new[] { 0, 0, 0, 0 }, 0, 0, 0.0)]
    [InlineData(new[] { 6, 5, 4, 0 }, new[] { 6, 5, 4, 3 }, 6, 6, 0.0)]
    [InlineData(new[] { 0, 0, 0, 0 }, new[] { 0, 0, 0, 0 }, 0, 0, 0.1)]
    [InlineData(new[] { 0, 0, 0, 0 }, new[] { 0, 0, 0, 0 }, 1, 5, 0.01)]
    public void DegenerateStatisticsScoreExactlyZero(int[] counts, int[] totals, int systemLength, int referenceLength, double floor)
    {
        var bleu = Bleu.FromStatistics(counts, totals, systemLength, referenceLength, new BleuOptions
        {
            Smoothing = BleuSmoothing.Floor,
            SmoothValue = floor,
        });

        Assert.Equal(0.0, bleu.Score);
    }

    // sacrebleu issue #98: a Romanian sentence with its comma-below/cedilla mismatch.
    private const string RomanianReference = "producţia de zahăr brut se exprimă în zahăr alb;";
    private const string RomanianHypothesis = "Producția de zahăr primă va fi exprimată în ceea ce privește zahărul alb;";

    [Theory]
    [InlineData(BleuSmoothing.Exp, null, BleuTokenizer.ThirteenA, 8.493)]
    [InlineData(BleuSmoothing.None, null, BleuTokenizer.ThirteenA, 0.0)]
    [InlineData(BleuSmoothing.Floor, null, BleuTokenizer.ThirteenA, 4.51688)]
    [InlineData(BleuSmoothing.Floor, 0.1, BleuTokenizer.ThirteenA, 4.51688)]
    [InlineData(BleuSmoothing.Floor, 0.5, BleuTokenizer.ThirteenA, 10.10)]
    [InlineData(BleuSmoothing.AddK, null, BleuTokenizer.ThirteenA, 14.882)]
    [InlineData(BleuSmoothing.AddK, 1.0, BleuTokenizer.ThirteenA, 14.882)]
    [InlineData(BleuSmoothing.AddK, 2.0, BleuTokenizer.ThirteenA, 21.389)]
    [InlineData(BleuSmoothing.Exp, null, BleuTokenizer.None, 7.347)]
    public void SentenceBleuMatchesSacrebleuForEverySmoothingMethod(
        BleuSmoothing smoothing, double? smoothValue, BleuTokenizer tokenizer, double expected)
    {
        var options = new BleuOptions { Smoothing = smoothing, SmoothValue = smoothValue, Tokenizer = tokenizer };

        var bleu = Bleu.Sentence(RomanianHypothesis, [RomanianReference], options);

        Assert.Equal(expected, bleu.Score, 1e-3);
    }

    [Theory]
    [InlineData(BleuSmoothing.Exp, null)]
    [InlineData(BleuSmoothing.None, null)]
    [InlineData(BleuSmoothing.Floor, null)]
    [InlineData(BleuSmoothing.Floor, 0.1)]
    [InlineData(BleuSmoothing.AddK, null)]
    [InlineData(BleuSmoothing.AddK, 1.0)]
    public void ASentenceWithoutAnyMatchScoresZeroWhateverTheSmoothing(BleuSmoothing smoothing, double? smoothValue)
    {
        // sacrebleu issue #141.
        var bleu = Bleu.Sentence("this is a cat", ["okay thanks"], new BleuOptions { Smoothing = smoothing, SmoothValue = smoothValue });

        Assert.Equal(0.0, bleu.Score);
    }

    [Fact]
    public void SentenceBleuUsesTheEffectiveOrderUnlessToldOtherwise()
    {
        // "a test" has one bigram and no trigram or four-gram. With the effective order BLEU is the
        // geometric mean of the two precisions it has, 100 and 100; without it, exp smoothing cannot
        // help orders with no n-grams at all, so their zero precision sends BLEU to 0.
        Assert.Equal(100.0, Bleu.Sentence("a test", ["a test"]).Score, 1e-9);
        Assert.Equal(0.0, Bleu.Sentence("a test", ["a test"], new BleuOptions { EffectiveOrder = false }).Score);
        Assert.Equal(0.0, Bleu.Corpus(["a test"], [["a test"]]).Score);
    }

    [Fact]
    public void EachNgramIsCreditedUpToItsMostFrequentReferenceCount()
    {
        // "the" occurs 3 times in the hypothesis, once in the first reference and twice in the second:
        // 2 of the 3 unigrams match. The bigram "the the" is in the second reference once: 1 of 2.
        var bleu = Bleu.Corpus(["the the the"], [["the cat"], ["the the dog"]], new BleuOptions { MaxNgramOrder = 2 });

        Assert.Equal([2, 1], bleu.Counts);
        Assert.Equal([3, 2], bleu.Totals);
    }

    [Theory]
    [InlineData("a b c d", "a b", 2)]
    [InlineData("a b", "a b c d", 2)]
    [InlineData("a b c d e f", "a b c", 3)]
    public void TheClosestReferenceLengthTiesToTheShorterReference(string first, string second, int expected)
    {
        // The hypothesis has 3 tokens: 2 and 4 are equally close, so the shorter wins; 6 and 3 are not tied.
        var bleu = Bleu.Corpus(["a b c"], [[first], [second]]);

        Assert.Equal(expected, bleu.ReferenceLength);
    }

    [Fact]
    public void BrevityPenaltyIsExpOfOneMinusReferenceOverSystemLength()
    {
        // 2 hypothesis tokens against a 4-token reference: BP = exp(1 - 4/2) = exp(-1); both unigrams
        // and the bigram match, so BLEU over orders 1..2 is 100 * exp(-1).
        var bleu = Bleu.Corpus(["a b"], [["a b c d"]], new BleuOptions { MaxNgramOrder = 2 });

        Assert.Equal(Math.Exp(-1), bleu.BrevityPenalty, 1e-15);
        Assert.Equal(100 * Math.Exp(-1), bleu.Score, 1e-12);
        Assert.Equal(1.0, Bleu.Corpus(["a b c d e"], [["a b c d"]]).BrevityPenalty);
    }

    [Fact]
    public void LowercasingMakesMatchingCaseInsensitive()
    {
        Assert.Equal(0.0, Bleu.Sentence("The Cat", ["the cat"]).Score);
        Assert.Equal(100.0, Bleu.Sentence("The Cat", ["the cat"], new BleuOptions { Lowercase = true }).Score, 1e-9);
    }

    [Fact]
    public void PunctuationIsSplitBy13aBeforeMatching()
    {
        // 13a turns "Hello, world." into "Hello , world ." which matches the pre-tokenized reference;
        // without tokenization "Hello," and "world." match nothing.
        Assert.Equal(100.0, Bleu.Sentence("Hello, world.", ["Hello , world ."]).Score, 1e-9);
        Assert.Equal(0.0, Bleu.Sentence("Hello, world.", ["Hello , world ."], new BleuOptions { Tokenizer = BleuTokenizer.None }).Score);
    }
}
