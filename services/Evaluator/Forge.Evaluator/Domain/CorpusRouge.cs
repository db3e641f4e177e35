using Forge.Metrics;

namespace Forge.Evaluator.Domain;

/// <summary>ROUGE over a corpus: each type's precision, recall and F-measure averaged over the segments (0..1).</summary>
public sealed record RougeCorpusScore(int Segments, bool UseStemmer, IReadOnlyDictionary<string, RougeScore> Mean);

/// <summary>
/// rouge-score scores one prediction at a time. A corpus score here is the plain mean of the segment scores:
/// rouge-score's BootstrapAggregator (and so Hugging Face's evaluate) reports a resampled estimate of this same mean
/// as its "mid", which varies from run to run; the mean itself does not.
/// </summary>
public static class CorpusRouge
{
    /// <param name="referenceSets">sacrebleu's layout, as BLEU and chrF take it; per segment the best-scoring non-empty reference counts (rouge-score's score_multi).</param>
    public static RougeCorpusScore Score(IReadOnlyList<string> hypotheses, IReadOnlyList<IReadOnlyList<string>> referenceSets, RougeOptions options)
    {
        ArgumentNullException.ThrowIfNull(hypotheses);
        ArgumentNullException.ThrowIfNull(referenceSets);
        var segments = new List<IReadOnlyDictionary<string, RougeScore>>(hypotheses.Count);
        for (var segment = 0; segment < hypotheses.Count; segment++)
        {
            var references = referenceSets.Select(set => set[segment]).ToList();
            if (references.All(string.IsNullOrEmpty))
                throw new ArgumentException($"Segment {segment} has no non-empty reference.", nameof(referenceSets));
            segments.Add(Segment(hypotheses[segment], references, options));
        }
        return Mean(segments, options);
    }

    /// <summary>One segment against its references; empty references are missing ones and are skipped.</summary>
    public static IReadOnlyDictionary<string, RougeScore> Segment(string hypothesis, IReadOnlyList<string> references, RougeOptions options)
    {
        ArgumentNullException.ThrowIfNull(references);
        var present = references.Where(reference => !string.IsNullOrEmpty(reference)).ToList();
        if (present.Count == 0)
            throw new ArgumentException("The segment has no non-empty reference.", nameof(references));
        return Rouge.ScoreMulti(present, hypothesis, options);
    }

    /// <summary>The mean of segment scores computed with <paramref name="options"/>.</summary>
    public static RougeCorpusScore Mean(IReadOnlyList<IReadOnlyDictionary<string, RougeScore>> segments, RougeOptions options)
    {
        ArgumentNullException.ThrowIfNull(segments);
        ArgumentNullException.ThrowIfNull(options);
        var count = Math.Max(segments.Count, 1);
        var mean = options.Types.ToDictionary(
            type => type,
            type => new RougeScore(
                segments.Sum(s => s[type].Precision) / count,
                segments.Sum(s => s[type].Recall) / count,
                segments.Sum(s => s[type].FMeasure) / count),
            StringComparer.Ordinal);
        return new RougeCorpusScore(segments.Count, options.UseStemmer, mean);
    }
}
