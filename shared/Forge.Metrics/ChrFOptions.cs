namespace Forge.Metrics;

/// <summary>chrF settings; the defaults are sacrebleu 2.x's <c>CHRF()</c>.</summary>
public sealed record ChrFOptions
{
    public static ChrFOptions Default { get; } = new();

    /// <summary>chrF++ (Popović, 2017): word unigrams and bigrams on top of the character n-grams.</summary>
    public static ChrFOptions ChrFPlusPlus { get; } = new() { WordOrder = 2 };

    public int CharOrder { get; init; } = 6;

    public int WordOrder { get; init; }

    /// <summary>How many times recall weighs more than precision.</summary>
    public int Beta { get; init; } = 2;

    public bool Lowercase { get; init; }

    /// <summary>Keep whitespace inside character n-grams; sacrebleu removes it by default.</summary>
    public bool IncludeWhitespace { get; init; }

    /// <summary>
    /// Average per-order F-scores with epsilon smoothing (chrF++.py, NLTK, Moses) instead of sacrebleu's
    /// default: F-score of the precision and recall averaged over the orders that have n-grams.
    /// </summary>
    public bool EpsilonSmoothing { get; init; }
}
