using Forge.Metrics;

namespace Forge.Metrics.Tests;

// Expected values come from rouge-score's rouge_scorer_test.py and tokenize_test.py (the "against
// ROUGE-1.5.5" ones use its testdata files, copied below, and its five-place tolerance), or are worked
// out by hand in a comment.
public sealed class RougeTests
{
    private const double FivePlaces = 5e-6;

    // rouge/testdata/target.txt and prediction.txt, line by line.
    private const string Target0 = "ZfbCUIUuePaiLVUlCaUXxkpu XPeWing tUHfPMuZ',-Xd Y BrUgVJing M-HV.-DgdDaY.rFDJCRing Ht-LM EKBDXkME,yz'RBr q'wtion wIojNbN wL,b .a-'XdQggyFl jB-RPP'iyOIcUxer tKM L\n";
    private const string Target1 = "KsJdPByEtAor fE-Qg Dpdbring cw-WeFyu vC MoBL Xdn g wkvcEiGvKtion BDFhrpMtion psing sbKao Q m qiing LMmer HqqLFXe,XPY,J XsurkMer ,ed nB'wH'bWVHjWFEing tQ.saefZwJtKrTlixYpMMsJing UCAPwNHeYVjDing c T BUySKtion gMPfJpwGw p'NvxAoping eu pBwMBKV'I DNxqelhu,PHPxDEq,mtion SN\n";
    private const string Prediction0 = "rFDJCRtion Ht-LM EKtDXkME,yz'RBr q'wer wrojNbN wL,b .a-'XdQggyFl jB-RPP'iyOIcUxi\n";
    private const string Prediction1 = "n cw-WeFyu vC MoBL Xdn g wkvcEiGvKtion BDFhrpMer pstion sbKao Q m qier LMmed HqqLFXe,XPY,J XsurkMeo ,ed nB'wH'bWVHjWFEer tQ.saefZwJtKrTlixYpMMNJtion UCAPwNHeYVjD\n";

    // rouge/testdata/pyrouge_files/target_multi.0.txt and prediction_multi.0.txt.
    private const string TargetMulti =
        Target0 + Target1
        + "NhETebUbBk'er WOvoHMTjSRizKgH'vHiing Xu,hWxfs VkNE QhgKiLHE -HidivzoM.dO anhtion jbLQiSGDTCsuhREebUaKM dv J dVN tmbOT\n"
        + "vMR HDm,xOAetion D,tion HJtodT.mHl UIv-p VjWH'BdyWjnfGU-OjT aEMdFICyLWfQMtion wEMfdOKing AwkeKbO 'DxqNOHBH qKtVvm OYJl mM\n";
    private const string PredictionMulti =
        Prediction0 + Prediction1
        + "xfs VkJE QhgKiLHE -HidivzoM.dO anhing jbLQiSGDTCsuhREebUaKM dv J\n"
        + "VjWH'BdyWjnfGU-OjTNaEMdFICyLWfQMing wEMfdOKijg AwkeKbO 'DxqNO\n";

    private static RougeScore Single(string type, string target, string prediction, bool useStemmer = false) =>
        Rouge.Score(target, prediction, new RougeOptions { Types = [type], UseStemmer = useStemmer })[type];

    private static void AssertScore(RougeScore actual, double precision, double recall, double fMeasure, double tolerance = 1e-12)
    {
        Assert.Equal(precision, actual.Precision, tolerance);
        Assert.Equal(recall, actual.Recall, tolerance);
        Assert.Equal(fMeasure, actual.FMeasure, tolerance);
    }

    [Fact]
    public void Rouge1CountsUnigramOverlap()
    {
        AssertScore(Single(Rouge.Rouge1, "testing one two", "testing"), 1, 1.0 / 3, 1.0 / 2);
    }

    [Fact]
    public void Rouge2CountsBigramOverlap()
    {
        AssertScore(Single(Rouge.Rouge2, "testing one two", "testing one"), 1, 1.0 / 2, 2.0 / 3);
    }

    [Theory]
    [InlineData("testing one")]
    [InlineData("testing two")]
    public void RougeLFollowsTheLongestCommonSubsequenceConsecutiveOrNot(string prediction)
    {
        AssertScore(Single(Rouge.RougeL, "testing one two", prediction), 1, 2.0 / 3, 4.0 / 5);
    }

    [Theory]
    [InlineData(Rouge.Rouge1)]
    [InlineData(Rouge.Rouge2)]
    [InlineData(Rouge.RougeL)]
    [InlineData(Rouge.RougeLsum)]
    public void AnEmptyPredictionScoresZero(string type)
    {
        AssertScore(Single(type, "testing one two", ""), 0, 0, 0);
    }

    [Fact]
    public void EveryRequestedTypeIsScoredAndNoOther()
    {
        var scores = Rouge.Score("testing one two", "testing one", new RougeOptions { Types = [Rouge.Rouge1, Rouge.RougeL] });

        Assert.Equal([Rouge.Rouge1, Rouge.RougeL], scores.Keys);
        AssertScore(scores[Rouge.Rouge1], 1, 2.0 / 3, 4.0 / 5);
        AssertScore(scores[Rouge.RougeL], 1, 2.0 / 3, 4.0 / 5);
        Assert.Equal([Rouge.Rouge1, Rouge.Rouge2, Rouge.RougeL, Rouge.RougeLsum], Rouge.Score("a", "a").Keys);
    }

    [Theory]
    [InlineData("rouge1")]
    [InlineData("rouge9")]
    [InlineData("rougeL")]
    [InlineData("rougeLsum")]
    public void ValidTypesAreAccepted(string type)
    {
        Assert.Equal([type], Rouge.Score("testing one two", "testing", new RougeOptions { Types = [type] }).Keys);
    }

    [Theory]
    [InlineData("rougen")]
    [InlineData("rouge0")]
    [InlineData("rouge10")]
    public void InvalidTypesAreRefused(string type)
    {
        Assert.Throws<ArgumentException>(() => Rouge.Score("testing one two", "testing", new RougeOptions { Types = [type] }));
    }

    [Theory]
    [InlineData(Rouge.Rouge1, false, 0.68750, 0.40741, 0.51163, 0.65385, 0.40476, 0.50000)]
    [InlineData(Rouge.Rouge1, true, 0.68750, 0.40741, 0.51163, 0.69231, 0.42857, 0.52941)]
    [InlineData(Rouge.Rouge2, false, 0.53333, 0.30769, 0.39024, 0.48000, 0.29268, 0.36364)]
    [InlineData(Rouge.Rouge2, true, 0.53333, 0.30769, 0.39024, 0.48000, 0.29268, 0.36364)]
    [InlineData(Rouge.RougeL, false, 0.68750, 0.40741, 0.51163, 0.65385, 0.40476, 0.50000)]
    public void ScoresMatchRouge155OnRougeScoresTestData(
        string type, bool useStemmer,
        double precision0, double recall0, double fMeasure0,
        double precision1, double recall1, double fMeasure1)
    {
        AssertScore(Single(type, Target0, Prediction0, useStemmer), precision0, recall0, fMeasure0, FivePlaces);
        AssertScore(Single(type, Target1, Prediction1, useStemmer), precision1, recall1, fMeasure1, FivePlaces);
    }

    [Fact]
    public void RougeLsumWithStemmingMatchesRouge155OnMultiSentenceSummaries()
    {
        AssertScore(Single(Rouge.RougeLsum, TargetMulti, PredictionMulti, useStemmer: true), 0.66667, 0.36538, 0.47205, FivePlaces);
    }

    [Fact]
    public void RougeLsumTakesTheUnionLcsOverNewlineSeparatedSentences()
    {
        // The target's 5 tokens lie on the LCS with one prediction sentence or the other (w1 w2, then
        // w1 w3 w5): 4 hits, recall 4/5, precision 4/10.
        AssertScore(Single(Rouge.RougeLsum, "w1 w2 w3 w4 w5", "w1 w2 w6 w7 w8\nw1 w3 w8 w9 w5"), 0.4, 0.8, 0.5333, 5e-4);
    }

    [Theory]
    [InlineData("w1 w2 w3 w4 w5", "")]
    [InlineData("", "w1")]
    [InlineData("w1 w2 w3 w4 w5", "/")]
    public void RougeLsumScoresZeroWhenEitherSideHasNoTokens(string target, string prediction)
    {
        AssertScore(Single(Rouge.RougeLsum, target, prediction), 0, 0, 0);
    }

    [Fact]
    public void TheLcsTableAndItsBacktrackFollowRougeScore()
    {
        string[] reference = ["1", "2", "3", "4", "5"];

        Assert.Equal(3, Rouge.LcsTable(reference, ["2", "5", "3", "4"])[5, 4]);
        Assert.Equal([1, 2, 3], Rouge.LcsPositions(reference, ["2", "5", "3", "4"]));
        Assert.Equal(0, Rouge.LcsTable(reference, ["8", "9"])[5, 2]);
        Assert.Empty(Rouge.LcsPositions(reference, ["8", "9"]));
    }

    [Fact]
    public void TheUnionLcsJoinsTheLcsOfEachCandidateSentence()
    {
        // Section 3.2 of the ROUGE paper: LCS [1, 2] with the first candidate and [1, 3, 5] with the second.
        List<string> reference = ["1", "2", "3", "4", "5"];
        List<List<string>> candidates = [["1", "2", "6", "7", "8"], ["1", "3", "8", "9", "5"]];

        Assert.Equal(["1", "2", "3", "5"], Rouge.UnionLongestCommonSubsequence(reference, candidates));

        var score = Rouge.SummaryLevelLongestCommonSubsequence([reference], candidates);
        Assert.Equal(0.8, score.Recall);
        Assert.Equal(0.4, score.Precision);
        Assert.Equal(0.5333, score.FMeasure, 5e-4);
        Assert.Equal(0.0, Rouge.SummaryLevelLongestCommonSubsequence([["reference"]], [[]]).Recall);
    }

    [Fact]
    public void ScoreMultiKeepsForEachTypeTheTargetWithTheBestFMeasure()
    {
        // Prediction: the cat ran fast.
        // "cat the ran": rouge1 3/4, 3/3, F 6/7; rouge2 0; rougeL LCS 2 ("the ran"): 2/4, 2/3, F 4/7.
        // "the cat sat down": rouge1 2/4, 2/4, F 1/2; rouge2 "the cat" 1/3, 1/3, F 1/3; rougeL 2/4, 2/4, F 1/2.
        var scores = Rouge.ScoreMulti(["cat the ran", "the cat sat down"], "the cat ran fast");

        AssertScore(scores[Rouge.Rouge1], 3.0 / 4, 1, 6.0 / 7);
        AssertScore(scores[Rouge.Rouge2], 1.0 / 3, 1.0 / 3, 1.0 / 3);
        AssertScore(scores[Rouge.RougeL], 2.0 / 4, 2.0 / 3, 4.0 / 7);
        Assert.Throws<ArgumentException>(() => Rouge.ScoreMulti([], "the cat"));
    }

    [Fact]
    public void TheTokenizerLowercasesAndKeepsOnlyLettersAndDigits()
    {
        Assert.Equal(["one", "two", "three"], RougeTokenizer.Tokenize("one Two three", useStemmer: false));
        Assert.Equal(["one", "two", "three"], RougeTokenizer.Tokenize("one\n Two \nthree", useStemmer: false));
        Assert.Equal(["it", "s", "a", "well", "known", "c3po"], RougeTokenizer.Tokenize("It's a well-known C3PO!", useStemmer: false));
    }

    [Fact]
    public void OnlyTokensLongerThanThreeCharactersAreStemmed()
    {
        // The stemmer alone would turn "was" into "wa" and "cats" into "cat".
        Assert.Equal(["cat", "was", "run"], RougeTokenizer.Tokenize("Cats was running", useStemmer: true));
    }
}
