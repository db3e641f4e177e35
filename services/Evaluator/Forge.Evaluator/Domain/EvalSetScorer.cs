using Forge.Metrics;

namespace Forge.Evaluator.Domain;

/// <summary>How an eval set is scored; the defaults are sacrebleu's and rouge-score's, with all four ROUGE types.</summary>
public sealed record EvalScoringOptions
{
    public static EvalScoringOptions Default { get; } = new();

    public BleuOptions Bleu { get; init; } = BleuOptions.Default;
    public ChrFOptions ChrF { get; init; } = ChrFOptions.Default;
    public RougeOptions Rouge { get; init; } = RougeOptions.Default;
}

/// <summary>One example with the output it got and that output's own sentence-level scores.</summary>
public sealed record ExampleResult(
    int Index,
    string? Id,
    string Prompt,
    string Output,
    IReadOnlyList<string> References,
    double Bleu,
    double ChrF,
    IReadOnlyDictionary<string, double> Rouge);

/// <summary>
/// Corpus scores of a set of outputs, the flat metrics the registry gates on (bleu, chrf and each ROUGE type's mean
/// F-measure), and every example's result.
/// </summary>
public sealed record EvalSetScore(
    IReadOnlyDictionary<string, double> Metrics,
    BleuScore Bleu,
    ChrFScore ChrF,
    RougeCorpusScore Rouge,
    IReadOnlyList<ExampleResult> Examples);

/// <summary>Scores a model's outputs on an eval set. Generating the outputs is the model's side; this only needs them.</summary>
public static class EvalSetScorer
{
    public const string BleuMetric = "bleu";
    public const string ChrFMetric = "chrf";

    public static EvalSetScore Score(IReadOnlyList<EvalExample> examples, IReadOnlyList<string> outputs, EvalScoringOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(examples);
        ArgumentNullException.ThrowIfNull(outputs);
        options ??= EvalScoringOptions.Default;
        if (examples.Count == 0)
            throw new ArgumentException("An eval set needs at least one example.", nameof(examples));
        if (outputs.Count != examples.Count)
            throw new ArgumentException($"{outputs.Count} outputs for {examples.Count} examples.", nameof(outputs));

        // Examples may have different numbers of references; sacrebleu's layout pads with missing ("") ones.
        var width = examples.Max(example => example.References.Count);
        var referenceSets = Enumerable.Range(0, width)
            .Select(set => (IReadOnlyList<string>)examples.Select(example => set < example.References.Count ? example.References[set] : "").ToList())
            .ToList();
        var bleu = Forge.Metrics.Bleu.Corpus(outputs, referenceSets, options.Bleu);
        var chrF = Forge.Metrics.ChrF.Corpus(outputs, referenceSets, options.ChrF);

        var rougeSegments = examples.Select((example, i) => CorpusRouge.Segment(outputs[i], example.References, options.Rouge)).ToList();
        var rouge = CorpusRouge.Mean(rougeSegments, options.Rouge);

        var results = examples.Select((example, i) => new ExampleResult(
                i,
                example.Id,
                example.Prompt,
                outputs[i],
                example.References,
                Forge.Metrics.Bleu.Sentence(outputs[i], example.References, options.Bleu).Score,
                Forge.Metrics.ChrF.Sentence(outputs[i], example.References, options.ChrF).Score,
                rougeSegments[i].ToDictionary(pair => pair.Key, pair => pair.Value.FMeasure, StringComparer.Ordinal)))
            .ToList();

        var metrics = new Dictionary<string, double>(StringComparer.Ordinal) { [BleuMetric] = bleu.Score, [ChrFMetric] = chrF.Score };
        foreach (var (type, score) in rouge.Mean)
            metrics[type] = score.FMeasure;
        return new EvalSetScore(metrics, bleu, chrF, rouge, results);
    }
}
