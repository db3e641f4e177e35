using System.Runtime.CompilerServices;

namespace Forge.Tokenization;

/// <summary>
/// Pair of token ids → (merge rank, merged id), an open-addressing table: the one lookup BPE encoding makes per
/// candidate pair, about twice as fast as a <see cref="Dictionary{TKey, TValue}"/> of the same pairs.
/// A pair listed twice keeps its later rank, as Hugging Face's BPE model does.
/// </summary>
internal sealed class MergeTable
{
    private const ulong Empty = ulong.MaxValue;
    private readonly ulong[] _keys;
    private readonly ulong[] _values;
    private readonly int _mask;
    private readonly int _shift;

    public MergeTable(IReadOnlyList<(int Left, int Right, int Merged)> merges)
    {
        var capacity = 16;
        while (capacity < merges.Count * 2)
            capacity <<= 1;
        _keys = new ulong[capacity];
        _values = new ulong[capacity];
        Array.Fill(_keys, Empty);
        _mask = capacity - 1;
        _shift = 64 - System.Numerics.BitOperations.Log2((uint)capacity);
        for (var rank = 0; rank < merges.Count; rank++)
        {
            var (left, right, merged) = merges[rank];
            var key = Key(left, right);
            var slot = Slot(key);
            while (_keys[slot] != Empty && _keys[slot] != key)
                slot = (slot + 1) & _mask;
            _keys[slot] = key;
            _values[slot] = ((ulong)(uint)rank << 32) | (uint)merged;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ulong Key(int left, int right) => ((ulong)(uint)left << 32) | (uint)right;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private int Slot(ulong key) => (int)((key * 0x9E3779B97F4A7C15UL) >> _shift);

    /// <summary>The rank of the merge of (<paramref name="left"/>, <paramref name="right"/>), or <see cref="int.MaxValue"/> when there is none.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public int Rank(int left, int right, out int merged)
    {
        var key = Key(left, right);
        var slot = Slot(key);
        while (true)
        {
            var found = _keys[slot];
            if (found == key)
            {
                var value = _values[slot];
                merged = (int)(uint)value;
                return (int)(value >> 32);
            }
            if (found == Empty)
            {
                merged = -1;
                return int.MaxValue;
            }
            slot = (slot + 1) & _mask;
        }
    }
}
