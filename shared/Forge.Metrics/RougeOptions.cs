namespace Forge.Metrics;

/// <summary>ROUGE settings, as rouge-score's <c>RougeScorer(rouge_types, use_stemmer)</c> takes them.</summary>
public sealed record RougeOptions
{
    public static RougeOptions Default { get; } = new();

    /// <summary>
    /// rouge-score's type names: "rouge1" to "rouge9" (n-gram overlap), "rougeL" (longest common
    /// subsequence) and "rougeLsum" (union LCS over newline-separated sentences).
    /// </summary>
    public IReadOnlyList<string> Types { get; init; } = [Rouge.Rouge1, Rouge.Rouge2, Rouge.RougeL, Rouge.RougeLsum];

    /// <summary>Porter-stem tokens longer than three characters before matching.</summary>
    public bool UseStemmer { get; init; }
}
