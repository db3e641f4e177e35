using System.IO.Hashing;
using System.Runtime.InteropServices;

namespace Forge.Cleaning.Pipeline;

/// <summary>
/// MinHash signatures over word shingles, for near-duplicate detection with LSH. Permutation p maps a shingle's
/// 64-bit hash x to a_p·x + b_p (mod 2^64, a_p odd): a bijection of the 64-bit space, so each is a true permutation,
/// and one multiply-add per shingle and permutation keeps hashing fast. The coefficients come from a fixed seed, so
/// signatures agree across processes and restarts.
/// </summary>
public sealed class MinHasher
{
    private readonly ulong[] _a;
    private readonly ulong[] _b;

    public MinHasher(int shingleWords, int bands, int rowsPerBand, ulong seed = 0x5EED_F0_26E)
    {
        ShingleWords = shingleWords;
        Bands = bands;
        RowsPerBand = rowsPerBand;
        var permutations = bands * rowsPerBand;
        _a = new ulong[permutations];
        _b = new ulong[permutations];
        var state = seed;
        for (var i = 0; i < permutations; i++)
        {
            _a[i] = SplitMix(ref state) | 1;
            _b[i] = SplitMix(ref state);
        }
    }

    public int ShingleWords { get; }
    public int Bands { get; }
    public int RowsPerBand { get; }
    public int Permutations => _a.Length;

    /// <summary>The signature of a text: lowercase words, shingled, min-hashed. A text shorter than one shingle is one shingle.</summary>
    public ulong[] Signature(string text)
    {
        var shingles = ShingleHashes(text);
        var signature = new ulong[Permutations];
        // Permutation-major: the inner loop keeps one permutation's coefficients and running minimum in registers.
        for (var p = 0; p < signature.Length; p++)
        {
            ulong a = _a[p], b = _b[p], min = ulong.MaxValue;
            foreach (var x in shingles)
            {
                var h = a * x + b;
                if (h < min)
                    min = h;
            }
            signature[p] = min;
        }
        return signature;
    }

    /// <summary>One key per band: the band's index mixed with a hash of its rows.</summary>
    public ulong[] BandKeys(ulong[] signature)
    {
        var keys = new ulong[Bands];
        for (var band = 0; band < Bands; band++)
        {
            var rows = MemoryMarshal.AsBytes(signature.AsSpan(band * RowsPerBand, RowsPerBand));
            keys[band] = XxHash3.HashToUInt64(rows, seed: band);
        }
        return keys;
    }

    /// <summary>The share of permutations on which two signatures agree: an unbiased estimate of their Jaccard similarity.</summary>
    public static double EstimateJaccard(ReadOnlySpan<ulong> left, ReadOnlySpan<ulong> right)
    {
        var equal = 0;
        for (var i = 0; i < left.Length; i++)
        {
            if (left[i] == right[i])
                equal++;
        }
        return (double)equal / left.Length;
    }

    /// <summary>
    /// Whether an estimated similarity is consistent with a true one at or above the threshold: the estimate plus
    /// 2.5 standard errors (binomial over the permutations) reaches it. Confirming on the bare estimate would miss
    /// about half the pairs that sit right at the threshold; this keeps recall there above 0.9 while a pair at
    /// Jaccard 0.5 stays four standard errors away.
    /// </summary>
    public bool IsNearDuplicate(double estimate, double threshold)
    {
        var variance = Math.Max(estimate * (1 - estimate), 1.0 / Permutations) / Permutations;
        return estimate + 2.5 * Math.Sqrt(variance) >= threshold;
    }

    private ReadOnlySpan<ulong> ShingleHashes(string text)
    {
        var words = WordHashes(text);
        var count = Math.Max(1, words.Count - ShingleWords + 1);
        var shingles = new ulong[count];
        for (var s = 0; s < count; s++)
        {
            var shingle = 0xcbf29ce484222325UL;
            for (var w = s; w < Math.Min(words.Count, s + ShingleWords); w++)
                shingle = (shingle ^ words[w]) * 0x100000001b3UL;
            // A final avalanche, so that shingles differing in one word differ in every bit.
            shingle ^= shingle >> 33;
            shingle *= 0xff51afd7ed558ccdUL;
            shingle ^= shingle >> 33;
            shingles[s] = shingle;
        }
        return shingles;
    }

    private static List<ulong> WordHashes(string text)
    {
        var hashes = new List<ulong>(text.Length / 5 + 1);
        Span<char> lower = stackalloc char[64];
        var span = text.AsSpan();
        var i = 0;
        while (i < span.Length)
        {
            while (i < span.Length && !char.IsLetterOrDigit(span[i]))
                i++;
            var start = i;
            while (i < span.Length && char.IsLetterOrDigit(span[i]))
                i++;
            if (i == start)
                continue;
            var word = span[start..i];
            if (word.Length > lower.Length)
                word = word[..lower.Length];
            var length = word.ToLowerInvariant(lower);
            hashes.Add(XxHash3.HashToUInt64(MemoryMarshal.AsBytes(lower[..length])));
        }
        return hashes;
    }

    private static ulong SplitMix(ref ulong state)
    {
        var z = state += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}
