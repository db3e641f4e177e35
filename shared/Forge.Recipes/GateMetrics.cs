namespace Forge.Recipes;

/// <summary>The range a metric's values lie in, and how to say it.</summary>
internal sealed record MetricScale(double Min, double Max, string Rule);

/// <summary>
/// The metrics the evaluator reports, by the eval set they are measured on, with their scales (as in
/// Forge.Contracts' EvaluationCompleted): a gate may only name these, with a threshold on the metric's scale.
/// </summary>
internal static class GateMetrics
{
    /// <summary>The held-out split of the training data, which every model version is measured on.</summary>
    public const string ValidationSet = "validation";

    private static readonly MetricScale Perplexity = new(1, double.PositiveInfinity, "perplexity is at least 1");
    private static readonly MetricScale NotNegative = new(0, double.PositiveInfinity, "it is never negative");
    private static readonly MetricScale Percent = new(0, 100, "BLEU and chrF are on a 0 to 100 scale");
    private static readonly MetricScale Fraction = new(0, 1, "ROUGE F-measures are on a 0 to 1 scale");

    public static IReadOnlyDictionary<string, MetricScale> Validation { get; } = new Dictionary<string, MetricScale>(StringComparer.Ordinal)
    {
        ["perplexity"] = Perplexity,
        ["loss"] = NotNegative,
        ["bitsPerByte"] = NotNegative,
    };

    public static IReadOnlyDictionary<string, MetricScale> Task { get; } = new Dictionary<string, MetricScale>(StringComparer.Ordinal)
    {
        ["bleu"] = Percent,
        ["chrf"] = Percent,
        ["rouge1"] = Fraction,
        ["rouge2"] = Fraction,
        ["rougeL"] = Fraction,
        ["rougeLsum"] = Fraction,
    };
}
