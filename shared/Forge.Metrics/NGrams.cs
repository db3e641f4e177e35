using System.Runtime.InteropServices;

namespace Forge.Metrics;

/// <summary>N-gram counting shared by BLEU, chrF and ROUGE.</summary>
internal static class NGrams
{
    /// <summary>
    /// Counts the word n-grams of one order. Tokens never hold whitespace, so joining them with a
    /// space is as unambiguous a key as the tuples the reference tools use.
    /// </summary>
    public static Dictionary<string, int> CountWords(List<string> tokens, int order)
    {
        var counts = new Dictionary<string, int>(StringComparer.Ordinal);
        var span = CollectionsMarshal.AsSpan(tokens);
        for (var i = 0; i + order <= span.Length; i++)
        {
            var key = order == 1 ? span[i] : string.Join(' ', span.Slice(i, order));
            counts[key] = counts.GetValueOrDefault(key) + 1;
        }
        return counts;
    }

    /// <summary>Counts the character n-grams of one order, by code point as Python slices strings.</summary>
    public static Dictionary<string, int> CountCharacters(string text, int[] codePointStarts, int order)
    {
        var counts = new Dictionary<string, int>(StringComparer.Ordinal);
        var length = codePointStarts.Length - 1;
        for (var i = 0; i + order <= length; i++)
        {
            var start = codePointStarts[i];
            var key = text[start..codePointStarts[i + order]];
            counts[key] = counts.GetValueOrDefault(key) + 1;
        }
        return counts;
    }

    /// <summary>Sum of <c>min(hypothesis count, reference count)</c> over the hypothesis n-grams.</summary>
    public static int ClippedMatches(Dictionary<string, int> hypothesis, Dictionary<string, int> reference)
    {
        var matches = 0;
        foreach (var (ngram, count) in hypothesis)
        {
            if (reference.TryGetValue(ngram, out var referenceCount))
                matches += Math.Min(count, referenceCount);
        }
        return matches;
    }

    public static int Total(Dictionary<string, int> counts)
    {
        var total = 0;
        foreach (var count in counts.Values)
            total += count;
        return total;
    }
}
