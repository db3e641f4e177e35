namespace Forge.Metrics;

/// <summary>Precision, recall and F1 of one ROUGE type, each in 0..1 as rouge-score reports them.</summary>
public readonly record struct RougeScore(double Precision, double Recall, double FMeasure)
{
    internal static RougeScore Zero => new(0, 0, 0);

    internal static RougeScore Of(double precision, double recall) =>
        new(precision, recall, precision + recall > 0 ? 2 * precision * recall / (precision + recall) : 0.0);
}
