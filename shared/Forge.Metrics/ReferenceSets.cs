namespace Forge.Metrics;

/// <summary>
/// sacrebleu's layout for references: one or more reference sets, each a list parallel to the
/// hypotheses. An empty string stands for a missing reference, so segments may have fewer.
/// </summary>
internal static class ReferenceSets
{
    public static void CheckParallel(IReadOnlyList<string> hypotheses, IReadOnlyList<IReadOnlyList<string>> referenceSets)
    {
        ArgumentNullException.ThrowIfNull(hypotheses);
        ArgumentNullException.ThrowIfNull(referenceSets);
        if (referenceSets.Count == 0)
            throw new ArgumentException("At least one reference set is needed.", nameof(referenceSets));
        for (var set = 0; set < referenceSets.Count; set++)
        {
            // sacrebleu zips the streams and would silently drop the tail; a length mismatch is a caller bug.
            if (referenceSets[set].Count != hypotheses.Count)
            {
                throw new ArgumentException(
                    $"Reference set {set} has {referenceSets[set].Count} segments for {hypotheses.Count} hypotheses.",
                    nameof(referenceSets));
            }
        }
    }

    /// <summary>The non-empty references of one segment; sacrebleu refuses a segment without any.</summary>
    public static List<string> ForSegment(IReadOnlyList<IReadOnlyList<string>> referenceSets, int segment)
    {
        var references = new List<string>(referenceSets.Count);
        foreach (var set in referenceSets)
        {
            if (!string.IsNullOrEmpty(set[segment]))
                references.Add(set[segment]);
        }
        if (references.Count == 0)
            throw new ArgumentException($"Segment {segment} has no non-empty reference.", nameof(referenceSets));
        return references;
    }

    /// <summary>Turns the references of a single sentence into one-segment reference sets.</summary>
    public static IReadOnlyList<IReadOnlyList<string>> OfSentence(IReadOnlyList<string> references)
    {
        ArgumentNullException.ThrowIfNull(references);
        return references.Select(reference => (IReadOnlyList<string>)[reference]).ToList();
    }
}
