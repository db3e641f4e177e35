namespace Forge.Metrics;

/// <summary>
/// A BLEU score with its sufficient statistics, as sacrebleu's <c>BLEUScore</c> reports them.
/// </summary>
/// <param name="Score">BLEU on sacrebleu's 0..100 scale.</param>
/// <param name="Counts">Clipped n-gram matches per order. These are the raw counts: sacrebleu shows them with the add-k value already added.</param>
/// <param name="Totals">Hypothesis n-grams per order, raw as <paramref name="Counts"/>.</param>
/// <param name="Precisions">Smoothed n-gram precisions per order, on the 0..100 scale.</param>
/// <param name="BrevityPenalty">sacrebleu's <c>bp</c>.</param>
/// <param name="SystemLength">Hypothesis tokens, sacrebleu's <c>sys_len</c>.</param>
/// <param name="ReferenceLength">Closest reference tokens summed over segments, sacrebleu's <c>ref_len</c>.</param>
public sealed record BleuScore(
    double Score,
    IReadOnlyList<int> Counts,
    IReadOnlyList<int> Totals,
    IReadOnlyList<double> Precisions,
    double BrevityPenalty,
    int SystemLength,
    int ReferenceLength)
{
    /// <summary>System length over reference length, 0 without reference tokens.</summary>
    public double Ratio => ReferenceLength == 0 ? 0 : (double)SystemLength / ReferenceLength;
}
