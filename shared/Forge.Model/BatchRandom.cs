using System.Globalization;

namespace Forge.Model;

/// <summary>
/// xoshiro256** (Blackman and Vigna), seeded through SplitMix64: the batch sampler's generator. System.Random cannot
/// hand out its state; this one's state is four numbers, so a checkpoint can store it and a resumed run draws the
/// same windows an uninterrupted one would.
/// </summary>
public sealed class BatchRandom
{
    private ulong s0, s1, s2, s3;

    public BatchRandom(long seed)
    {
        var x = (ulong)seed;
        s0 = SplitMix64(ref x);
        s1 = SplitMix64(ref x);
        s2 = SplitMix64(ref x);
        s3 = SplitMix64(ref x);
    }

    /// <summary>The state as 64 hex digits, for checkpoints.</summary>
    public string State
    {
        get => string.Create(CultureInfo.InvariantCulture, $"{s0:x16}{s1:x16}{s2:x16}{s3:x16}");
        set
        {
            if (value is not { Length: 64 } || !value.All(char.IsAsciiHexDigit))
                throw new FormatException("A batch sampler state is 64 hex digits.");
            s0 = Parse(value, 0);
            s1 = Parse(value, 1);
            s2 = Parse(value, 2);
            s3 = Parse(value, 3);
            if ((s0 | s1 | s2 | s3) == 0)
                throw new FormatException("An all-zero state would make xoshiro256** return zeros forever.");
        }
    }

    public ulong NextUInt64()
    {
        var result = ulong.RotateLeft(s1 * 5, 7) * 9;
        var t = s1 << 17;
        s2 ^= s0;
        s3 ^= s1;
        s1 ^= s2;
        s0 ^= s3;
        s2 ^= t;
        s3 = ulong.RotateLeft(s3, 45);
        return result;
    }

    /// <summary>Uniform in [0, <paramref name="bound"/>), without modulo bias (Lemire's multiply-and-reject).</summary>
    public long NextBelow(long bound)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(bound);
        var range = (ulong)bound;
        var high = Math.BigMul(NextUInt64(), range, out var low);
        if (low < range)
        {
            var threshold = (0 - range) % range;
            while (low < threshold)
                high = Math.BigMul(NextUInt64(), range, out low);
        }
        return (long)high;
    }

    /// <summary>Uniform in [0, 1), from the top 53 bits of one draw.</summary>
    public double NextDouble() => (NextUInt64() >> 11) * (1.0 / (1UL << 53));

    private static ulong SplitMix64(ref ulong x)
    {
        var z = x += 0x9E3779B97F4A7C15;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EB;
        return z ^ (z >> 31);
    }

    private static ulong Parse(string state, int word) =>
        ulong.Parse(state.AsSpan(16 * word, 16), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture);
}
