namespace Forge.Metrics;

/// <summary>How BLEU segments are tokenized: sacrebleu's <c>tokenize</c> argument.</summary>
public enum BleuTokenizer
{
    /// <summary><c>13a</c>, sacrebleu's default (mteval-v13a.pl).</summary>
    ThirteenA,

    /// <summary><c>none</c>: the text is already tokenized; it is only split on whitespace.</summary>
    None,
}

/// <summary>sacrebleu's <c>smooth_method</c> (Chen and Cherry, 2014).</summary>
public enum BleuSmoothing
{
    /// <summary>No smoothing.</summary>
    None,

    /// <summary>Method 1: a zero match count becomes <see cref="BleuOptions.SmoothValue"/> (0.1 by default).</summary>
    Floor,

    /// <summary>Method 2: adds <see cref="BleuOptions.SmoothValue"/> (1 by default) to the counts of orders 2 and up.</summary>
    AddK,

    /// <summary>Method 3, NIST's: each further order without a match halves the precision.</summary>
    Exp,
}

/// <summary>BLEU settings; the defaults are sacrebleu 2.x's.</summary>
public sealed record BleuOptions
{
    public static BleuOptions Default { get; } = new();

    public bool Lowercase { get; init; }

    public BleuTokenizer Tokenizer { get; init; } = BleuTokenizer.ThirteenA;

    public BleuSmoothing Smoothing { get; init; } = BleuSmoothing.Exp;

    /// <summary>The value for <see cref="BleuSmoothing.Floor"/> and <see cref="BleuSmoothing.AddK"/>; null takes sacrebleu's default for the method.</summary>
    public double? SmoothValue { get; init; }

    public int MaxNgramOrder { get; init; } = 4;

    /// <summary>
    /// Leave out the orders the hypothesis has no n-grams of. Null follows sacrebleu: off for
    /// <c>corpus_bleu</c> and <c>compute_bleu</c>, on for <c>sentence_bleu</c>.
    /// </summary>
    public bool? EffectiveOrder { get; init; }
}
