using System.Numerics;

namespace Forge.Cleaning.Pipeline;

/// <summary>
/// A counting set of 64-bit n-gram hashes for the repetition filters: open addressing with linear probing, and
/// clearing by generation stamp, so the table is reused across documents without being wiped. It is several times
/// faster than Dictionary&lt;ulong, int&gt; for this access pattern (many small adds, then discard).
/// </summary>
internal sealed class NGramTable
{
    private ulong[] _keys = new ulong[1024];
    private int[] _counts = new int[1024];
    private uint[] _stamps = new uint[1024];
    private uint _generation = 1;
    private int _size;

    /// <summary>Empties the table in constant time, growing it when the next document needs more room.</summary>
    public void Reset(int expected)
    {
        var needed = (int)BitOperations.RoundUpToPowerOf2((uint)Math.Max(16, expected * 2));
        if (needed > _keys.Length)
        {
            _keys = new ulong[needed];
            _counts = new int[needed];
            _stamps = new uint[needed];
            _generation = 0;
        }
        if (++_generation == 0)
        {
            Array.Clear(_stamps);
            _generation = 1;
        }
        _size = 0;
    }

    /// <summary>Adds one occurrence of the key and returns its count so far (1 for a first occurrence).</summary>
    public int Increment(ulong key)
    {
        var mask = _keys.Length - 1;
        var slot = (int)((key * 0x9E3779B97F4A7C15UL) >> 40) & mask;
        while (true)
        {
            if (_stamps[slot] != _generation)
            {
                if (++_size * 2 > _keys.Length)
                    throw new InvalidOperationException("NGramTable was reset for fewer keys than were added.");
                _stamps[slot] = _generation;
                _keys[slot] = key;
                _counts[slot] = 1;
                return 1;
            }
            if (_keys[slot] == key)
                return ++_counts[slot];
            slot = (slot + 1) & mask;
        }
    }
}
