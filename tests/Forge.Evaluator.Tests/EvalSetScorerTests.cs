using Forge.Evaluator.Domain;
using Forge.Metrics;

namespace Forge.Evaluator.Tests;

public sealed class EvalSetScorerTests
{
    // sacrebleu's README example as an eval set: each segment's two references become one example's references.
    private static readonly List<EvalExample> ReadmeSet = SacrebleuReadme.Hypotheses
        .Select((_, i) => new EvalExample($"prompt {i}", [SacrebleuReadme.References[0][i], SacrebleuReadme.References[1][i]]))
        .ToList();

    [Fact]
    public void GivenOutputsScoreAsTheCorpusMetricsDo()
    {
        var score = EvalSetScorer.Score(ReadmeSet, SacrebleuReadme.Hypotheses);

        Assert.Equal(48.530827, score.Bleu.Score, 1e-6);
        Assert.Equal(48.530827, score.Metrics["bleu"], 1e-6);
        Assert.Equal(59.73, score.Metrics["chrf"], 2);
        var rouge = CorpusRouge.Score(SacrebleuReadme.Hypotheses, SacrebleuReadme.References, RougeOptions.Default);
        Assert.Equal(rouge.Mean["rougeL"].FMeasure, score.Metrics["rougeL"]);
        Assert.Equal(["bleu", "chrf", "rouge1", "rouge2", "rougeL", "rougeLsum"], score.Metrics.Keys);
    }

    [Fact]
    public void EveryExampleKeepsItsOutputAndItsOwnScores()
    {
        var score = EvalSetScorer.Score(ReadmeSet, SacrebleuReadme.Hypotheses);

        Assert.Equal(SacrebleuReadme.Hypotheses, score.Examples.Select(e => e.Output));
        Assert.Equal(ReadmeSet.Select(e => e.Prompt), score.Examples.Select(e => e.Prompt));
        var first = score.Examples[0];
        Assert.Equal(100.0, first.Bleu, 1e-9);
        Assert.Equal(100.0, first.ChrF, 1e-9);
        Assert.Equal(1.0, first.Rouge["rouge2"], 1e-12);
        Assert.Equal(Bleu.Sentence(SacrebleuReadme.Hypotheses[2], ReadmeSet[2].References).Score, score.Examples[2].Bleu);
    }

    [Fact]
    public void ExamplesWithFewerReferencesCountOnlyTheirOwn()
    {
        IReadOnlyList<EvalExample> examples = [new("p", ["the cat sat"]), new("q", ["a dog ran", "the dog ran", "one dog ran"])];
        string[] outputs = ["the cat sat", "the dog ran"];

        var score = EvalSetScorer.Score(examples, outputs);

        var expected = Bleu.Corpus(outputs, [["the cat sat", "a dog ran"], ["", "the dog ran"], ["", "one dog ran"]]);
        Assert.Equal(expected.Score, score.Bleu.Score);
        Assert.Equal(1.0, score.Metrics["rouge1"], 1e-12);
    }

    [Fact]
    public void OutputsMustMatchTheExamplesOneForOne()
    {
        Assert.Throws<ArgumentException>(() => EvalSetScorer.Score(ReadmeSet, ["only one"]));
    }

    [Fact]
    public void TheCanonicalJsonLinesReadBackAsTheSameExamples()
    {
        IReadOnlyList<EvalExample> examples = [new("Ünïcode \"quoted\"", ["a", "b"], "x1"), new("plain", ["c"])];

        var (read, error) = EvalSetParser.Parse(EvalSetParser.ToJsonLines(examples));

        Assert.Null(error);
        Assert.Equal(examples.Select(e => (e.Prompt, string.Join('|', e.References), e.Id)), read!.Select(e => (e.Prompt, string.Join('|', e.References), e.Id)));
    }
}
