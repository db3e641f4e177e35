namespace Forge.Cleaning.Pipeline;

/// <summary>
/// What the cleaning pipeline does and its thresholds. The defaults are the Gopher rules (Rae et al. 2021, as
/// implemented by datatrove) and MinHash near dedup at Jaccard 0.8. A dataset can override any of them.
/// </summary>
public sealed record CleaningSettings
{
    public bool RepairMojibake { get; init; } = true;
    /// <summary>Documents that look like HTML are reduced to their main text.</summary>
    public bool ExtractHtml { get; init; } = true;
    public bool QualityFilters { get; init; } = true;
    public bool RedactPii { get; init; } = true;
    public bool ExactDedup { get; init; } = true;
    public bool NearDedup { get; init; } = true;

    public int MinWords { get; init; } = 50;
    public int MaxWords { get; init; } = 100_000;
    public double MinMeanWordLength { get; init; } = 3;
    public double MaxMeanWordLength { get; init; } = 10;
    /// <summary>Hashes and ellipses per word.</summary>
    public double MaxSymbolWordRatio { get; init; } = 0.1;
    public double MaxBulletLineShare { get; init; } = 0.9;
    public double MaxEllipsisLineShare { get; init; } = 0.3;
    /// <summary>Share of words with at least one letter.</summary>
    public double MinAlphabeticWordShare { get; init; } = 0.8;
    /// <summary>At least this many English stop words ("the", "be", "to", "of", "and", "that", "have", "with").</summary>
    public int MinStopWords { get; init; } = 2;
    public double MaxDuplicateLineShare { get; init; } = 0.3;
    public double MaxDuplicateLineCharShare { get; init; } = 0.2;
    public double MaxDuplicateParagraphShare { get; init; } = 0.3;
    public double MaxDuplicateParagraphCharShare { get; init; } = 0.2;
    /// <summary>Most frequent n-gram's share of the characters, for n = 2, 3, 4.</summary>
    public double[] MaxTopNGramCharShare { get; init; } = [0.20, 0.18, 0.16];
    /// <summary>Share of characters in repeated n-grams, for n = 5 … 10.</summary>
    public double[] MaxDuplicateNGramCharShare { get; init; } = [0.15, 0.14, 0.13, 0.12, 0.11, 0.10];

    public int ShingleWords { get; init; } = 5;
    public int Bands { get; init; } = 14;
    public int RowsPerBand { get; init; } = 8;
    public double NearDuplicateJaccard { get; init; } = 0.8;

    /// <summary>Samples kept per drop reason in a report.</summary>
    public int SamplesPerReason { get; init; } = 3;

    /// <summary>Returns the first problem with these settings, naming the field, or null when they are usable.</summary>
    public (string Field, string Message)? Validate()
    {
        if (MinWords < 0 || MaxWords < MinWords)
            return ("maxWords", "must be at least minWords, and minWords at least 0");
        if (MinMeanWordLength < 0 || MaxMeanWordLength < MinMeanWordLength)
            return ("maxMeanWordLength", "must be at least minMeanWordLength");
        foreach (var (name, value) in new[]
        {
            ("maxSymbolWordRatio", MaxSymbolWordRatio), ("maxBulletLineShare", MaxBulletLineShare), ("maxEllipsisLineShare", MaxEllipsisLineShare),
            ("minAlphabeticWordShare", MinAlphabeticWordShare), ("maxDuplicateLineShare", MaxDuplicateLineShare),
            ("maxDuplicateLineCharShare", MaxDuplicateLineCharShare), ("maxDuplicateParagraphShare", MaxDuplicateParagraphShare),
            ("maxDuplicateParagraphCharShare", MaxDuplicateParagraphCharShare), ("nearDuplicateJaccard", NearDuplicateJaccard),
        })
        {
            if (value is < 0 or > 1 || double.IsNaN(value))
                return (name, "must be between 0 and 1");
        }
        if (MaxTopNGramCharShare.Length != 3 || MaxTopNGramCharShare.Any(v => v is < 0 or > 1))
            return ("maxTopNGramCharShare", "needs three shares between 0 and 1, for 2-, 3- and 4-grams");
        if (MaxDuplicateNGramCharShare.Length != 6 || MaxDuplicateNGramCharShare.Any(v => v is < 0 or > 1))
            return ("maxDuplicateNGramCharShare", "needs six shares between 0 and 1, for 5- to 10-grams");
        if (ShingleWords is < 1 or > 32)
            return ("shingleWords", "must be between 1 and 32");
        if (Bands < 1 || RowsPerBand < 1 || Bands * RowsPerBand > 1024)
            return ("bands", "bands and rowsPerBand must be positive, with at most 1024 permutations in all");
        if (SamplesPerReason is < 0 or > 100)
            return ("samplesPerReason", "must be between 0 and 100");
        return null;
    }
}
