using System.Buffers;
using System.Runtime.CompilerServices;

namespace Forge.Tokenization;

/// <summary>
/// A token matched in the text before pre-tokenisation and never split: <c>&lt;|endoftext|&gt;</c>, <c>&lt;|user|&gt;</c>.
/// <see cref="IsSpecial"/> is Hugging Face's flag (a decoder may skip special tokens); both kinds are matched the same way.
/// </summary>
public sealed record AddedToken(int Id, string Content, bool IsSpecial = true);

/// <summary>
/// A byte-level BPE tokenizer (GPT-2 style), compatible with Hugging Face's <c>tokenizers</c>: text is split on the
/// added tokens, each remaining part is pre-tokenised (<see cref="PreTokenizer"/>), each span is turned into UTF-8
/// bytes and merged by rank. Thread-safe; each thread keeps its own bounded cache of span → ids.
/// <para>
/// <c>Decode(Encode(s)) == s</c> for every well-formed string. A lone surrogate is encoded as U+FFFD (what Hugging
/// Face's bindings receive for it) and so decodes as U+FFFD. Decoding ids that split a character's UTF-8 bytes, such
/// as a slice of a longer encoding, gives U+FFFD for the incomplete character.
/// </para>
/// </summary>
public sealed class BpeTokenizer : ITokenizer
{
    /// <summary>Distinct spans kept per thread before the cache starts over.</summary>
    public const int CacheCapacity = 65_536;

    private const int LongestCachedSpan = 256;
    private const int LongestQuadraticSpan = 128;

    private readonly string[] _tokens;
    private readonly byte[] _bytes;
    private readonly int[] _byteOffsets;
    private readonly int[] _idOfByte = new int[256];
    private readonly (int Left, int Right, int Merged)[] _merges;
    private readonly MergeTable _mergeTable;
    private readonly Dictionary<string, int> _idOfToken;
    private readonly AddedToken[] _addedTokens;
    private readonly AddedToken[] _addedTokensLongestFirst;
    private readonly SearchValues<string>? _addedTokenSearch;

    [ThreadStatic]
    private static ConditionalWeakTable<BpeTokenizer, WordCache>? t_caches;

    /// <param name="tokens">Id → token: a byte-level string ("Ġthe") or an added token's content.</param>
    /// <param name="merges">The merges in rank order, as pairs of ids whose concatenation is a token.</param>
    /// <param name="addedTokens">Tokens matched before pre-tokenisation; each is also in <paramref name="tokens"/>.</param>
    /// <param name="pattern">The pre-tokenisation pattern.</param>
    /// <param name="ignoreMerges">Hugging Face's <c>ignore_merges</c>: a span that is itself a token is that token.</param>
    /// <param name="unknownToken">
    /// Only for vocabularies that lack some of the 256 byte tokens (Hugging Face trains without them unless given the
    /// byte alphabet): a byte without a token becomes this token, or is dropped when there is none, as Hugging Face does.
    /// </param>
    /// <param name="fuseUnknown">Consecutive unknown bytes give one <paramref name="unknownToken"/>.</param>
    public BpeTokenizer(IReadOnlyList<string> tokens, IReadOnlyList<(int Left, int Right)> merges, IReadOnlyList<AddedToken> addedTokens,
        PreTokenizerPattern pattern = PreTokenizerPattern.Gpt2, bool ignoreMerges = false, string? unknownToken = null, bool fuseUnknown = false)
    {
        PreTokenizer = PreTokenizer.For(pattern);
        IgnoreMerges = ignoreMerges;
        FuseUnknown = fuseUnknown;
        _tokens = [.. tokens];
        _idOfToken = new Dictionary<string, int>(_tokens.Length, StringComparer.Ordinal);
        for (var id = 0; id < _tokens.Length; id++)
        {
            if (!_idOfToken.TryAdd(_tokens[id], id))
                throw new ArgumentException($"Token '{_tokens[id]}' has two ids, {_idOfToken[_tokens[id]]} and {id}.", nameof(tokens));
        }

        _addedTokens = [.. addedTokens.OrderBy(t => t.Id)];
        var added = new HashSet<int>();
        foreach (var token in _addedTokens)
        {
            if ((uint)token.Id >= (uint)_tokens.Length || _tokens[token.Id] != token.Content || token.Content.Length == 0)
                throw new ArgumentException($"Added token '{token.Content}' does not match token {token.Id} of the vocabulary.", nameof(addedTokens));
            added.Add(token.Id);
        }
        _addedTokensLongestFirst = [.. _addedTokens.OrderByDescending(t => t.Content.Length).ThenBy(t => t.Id)];
        if (_addedTokens.Length > 0)
            _addedTokenSearch = SearchValues.Create([.. _addedTokens.Select(t => t.Content)], StringComparison.Ordinal);

        var bytes = new byte[_tokens.Length][];
        for (var id = 0; id < _tokens.Length; id++)
        {
            bytes[id] = added.Contains(id)
                ? ByteLevel.Utf8.GetBytes(_tokens[id])
                : ByteLevel.TryGetBytes(_tokens[id]) ?? throw new ArgumentException($"Token {id} '{_tokens[id]}' is not a byte-level string.", nameof(tokens));
        }
        _byteOffsets = new int[_tokens.Length + 1];
        for (var id = 0; id < _tokens.Length; id++)
            _byteOffsets[id + 1] = _byteOffsets[id] + bytes[id].Length;
        _bytes = new byte[_byteOffsets[^1]];
        for (var id = 0; id < _tokens.Length; id++)
            bytes[id].CopyTo(_bytes, _byteOffsets[id]);

        for (var b = 0; b < 256; b++)
        {
            if (!_idOfToken.TryGetValue(ByteLevel.CharOf((byte)b).ToString(), out _idOfByte[b]) || added.Contains(_idOfByte[b]))
                _idOfByte[b] = -1;
        }
        UnknownId = unknownToken is null ? null
            : _idOfToken.TryGetValue(unknownToken, out var unknownId) ? unknownId
            : throw new ArgumentException($"The unknown token '{unknownToken}' is not in the vocabulary.", nameof(unknownToken));

        _merges = new (int, int, int)[merges.Count];
        for (var rank = 0; rank < merges.Count; rank++)
        {
            var (left, right) = merges[rank];
            if ((uint)left >= (uint)_tokens.Length || (uint)right >= (uint)_tokens.Length)
                throw new ArgumentOutOfRangeException(nameof(merges), $"Merge {rank} refers to an id outside the vocabulary.");
            if (!_idOfToken.TryGetValue(_tokens[left] + _tokens[right], out var merged))
                throw new ArgumentException($"Merge {rank} ('{_tokens[left]}' '{_tokens[right]}') makes a token that is not in the vocabulary.", nameof(merges));
            _merges[rank] = (left, right, merged);
        }
        _mergeTable = new MergeTable(_merges);
    }

    public int VocabularySize => _tokens.Length;

    public PreTokenizer PreTokenizer { get; }

    public bool IgnoreMerges { get; }

    /// <summary>The token for a byte the vocabulary lacks; null drops such bytes. Never used when all 256 bytes have tokens.</summary>
    public int? UnknownId { get; }

    public bool FuseUnknown { get; }

    /// <summary>Whether every byte has a token, so that every string round-trips.</summary>
    public bool CoversAllBytes => Array.TrueForAll(_idOfByte, id => id >= 0);

    /// <summary>Id → token as written in <c>vocab.json</c>: a byte-level string, or an added token's content.</summary>
    public IReadOnlyList<string> Tokens => _tokens;

    /// <summary>The merges in rank order, as the two token strings written on a line of <c>merges.txt</c>.</summary>
    public IEnumerable<(string Left, string Right)> Merges => _merges.Select(m => (_tokens[m.Left], _tokens[m.Right]));

    /// <summary>The merges in rank order, as (left id, right id, merged id).</summary>
    public IReadOnlyList<(int Left, int Right, int Merged)> MergeIds => _merges;

    public IReadOnlyList<AddedToken> AddedTokens => _addedTokens;

    public int? TokenToId(string token) => _idOfToken.TryGetValue(token, out var id) ? id : null;

    public string IdToToken(int id) => _tokens[id];

    /// <summary>The UTF-8 bytes token <paramref name="id"/> stands for.</summary>
    public ReadOnlySpan<byte> BytesOf(int id) => _bytes.AsSpan(_byteOffsets[id], _byteOffsets[id + 1] - _byteOffsets[id]);

    public int[] Encode(string text)
    {
        var ids = new List<int>(text.Length / 3 + 4);
        Encode(text, ids);
        return [.. ids];
    }

    public void Encode(ReadOnlySpan<char> text, List<int> ids)
    {
        var cache = (t_caches ??= []).GetValue(this, static _ => new WordCache());
        if (_addedTokenSearch is null)
        {
            EncodeOrdinary(text, ids, cache);
            return;
        }
        while (true)
        {
            var at = text.IndexOfAny(_addedTokenSearch);
            if (at < 0)
            {
                EncodeOrdinary(text, ids, cache);
                return;
            }
            EncodeOrdinary(text[..at], ids, cache);
            var token = AddedTokenAt(text[at..]);
            ids.Add(token.Id);
            text = text[(at + token.Content.Length)..];
        }
    }

    /// <summary>Encodes each text on the thread pool; the result at index i belongs to <paramref name="texts"/>[i].</summary>
    public int[][] EncodeBatch(IReadOnlyList<string> texts, int maxDegreeOfParallelism = -1)
    {
        var results = new int[texts.Count][];
        Parallel.For(0, texts.Count, new ParallelOptions { MaxDegreeOfParallelism = maxDegreeOfParallelism }, i => results[i] = Encode(texts[i]));
        return results;
    }

    /// <summary>The number of tokens <paramref name="text"/> encodes to.</summary>
    public int CountTokens(ReadOnlySpan<char> text)
    {
        var ids = new List<int>(text.Length / 3 + 4);
        Encode(text, ids);
        return ids.Count;
    }

    public string Decode(ReadOnlySpan<int> ids)
    {
        var length = 0;
        foreach (var id in ids)
        {
            if ((uint)id >= (uint)_tokens.Length)
                throw new ArgumentOutOfRangeException(nameof(ids), $"Token {id} is outside the vocabulary of {_tokens.Length}.");
            length += _byteOffsets[id + 1] - _byteOffsets[id];
        }
        var buffer = ArrayPool<byte>.Shared.Rent(length);
        try
        {
            var written = 0;
            foreach (var id in ids)
            {
                var bytes = BytesOf(id);
                bytes.CopyTo(buffer.AsSpan(written));
                written += bytes.Length;
            }
            return ByteLevel.Utf8.GetString(buffer, 0, written);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private AddedToken AddedTokenAt(ReadOnlySpan<char> text)
    {
        foreach (var token in _addedTokensLongestFirst)
        {
            if (text.StartsWith(token.Content, StringComparison.Ordinal))
                return token;
        }
        throw new InvalidOperationException("The added-token search matched no added token.");
    }

    private void EncodeOrdinary(ReadOnlySpan<char> text, List<int> ids, WordCache cache)
    {
        var preTokenizer = PreTokenizer;
        for (var start = 0; start < text.Length;)
        {
            var end = preTokenizer.NextEnd(text, start);
            var span = text[start..end];
            if (span.Length == 1 && span[0] < 128 && _idOfByte[span[0]] is var single and >= 0)
                ids.Add(single);
            else if (cache.TryGet(span, out var cached))
                ids.AddRange(cached);
            else
                EncodeSpan(span, ids, cache);
            start = end;
        }
    }

    private void EncodeSpan(ReadOnlySpan<char> span, List<int> ids, WordCache cache)
    {
        var maxBytes = ByteLevel.Utf8.GetMaxByteCount(span.Length);
        byte[]? rentedBytes = null;
        var bytes = maxBytes <= 1024 ? stackalloc byte[maxBytes] : (rentedBytes = ArrayPool<byte>.Shared.Rent(maxBytes));
        var count = ByteLevel.GetUtf8Bytes(span, bytes);
        int[]? rentedSymbols = null;
        var symbols = count <= 1024 ? stackalloc int[count] : (rentedSymbols = ArrayPool<int>.Shared.Rent(count)).AsSpan(0, count);
        var known = 0;
        var previousUnknown = false;
        for (var i = 0; i < count; i++)
        {
            var id = _idOfByte[bytes[i]];
            if (id < 0 && UnknownId is { } unknown && !(FuseUnknown && previousUnknown))
                symbols[known++] = unknown;
            else if (id >= 0)
                symbols[known++] = id;
            previousUnknown = id < 0;
        }
        symbols = symbols[..known];

        var length = IgnoreMerges && known > 0 && WholeSpanToken(bytes[..count]) is { } whole
            ? Single(symbols, whole)
            : known <= LongestQuadraticSpan ? MergeByScanning(symbols) : MergeWithHeap(symbols);
        var result = symbols[..length];
        ids.AddRange(result);
        if (span.Length <= LongestCachedSpan)
            cache.Add(span, result.ToArray());

        if (rentedBytes is not null)
            ArrayPool<byte>.Shared.Return(rentedBytes);
        if (rentedSymbols is not null)
            ArrayPool<int>.Shared.Return(rentedSymbols);

        static int Single(Span<int> symbols, int id)
        {
            symbols[0] = id;
            return 1;
        }
    }

    private int? WholeSpanToken(ReadOnlySpan<byte> bytes)
    {
        Span<char> chars = bytes.Length <= 512 ? stackalloc char[bytes.Length] : new char[bytes.Length];
        for (var i = 0; i < bytes.Length; i++)
            chars[i] = ByteLevel.CharOf(bytes[i]);
        return _idOfToken.GetAlternateLookup<ReadOnlySpan<char>>().TryGetValue(chars, out var id) ? id : null;
    }

    /// <summary>
    /// Applies the lowest-ranked merge, leftmost first, until none applies; for short spans a scan of the pair ranks
    /// beats a heap. Returns the new length of <paramref name="symbols"/>.
    /// </summary>
    private int MergeByScanning(Span<int> symbols)
    {
        var n = symbols.Length;
        if (n < 2)
            return n;
        Span<int> ranks = stackalloc int[n - 1];
        Span<int> merged = stackalloc int[n - 1];
        for (var i = 0; i < n - 1; i++)
            ranks[i] = _mergeTable.Rank(symbols[i], symbols[i + 1], out merged[i]);
        while (n > 1)
        {
            var best = int.MaxValue;
            var at = -1;
            for (var i = 0; i < n - 1; i++)
            {
                if (ranks[i] < best)
                {
                    best = ranks[i];
                    at = i;
                }
            }
            if (at < 0)
                break;
            symbols[at] = merged[at];
            symbols[(at + 2)..n].CopyTo(symbols[(at + 1)..]);
            if (at + 2 < n)
            {
                ranks[(at + 2)..(n - 1)].CopyTo(ranks[(at + 1)..]);
                merged[(at + 2)..(n - 1)].CopyTo(merged[(at + 1)..]);
            }
            n--;
            if (at > 0)
                ranks[at - 1] = _mergeTable.Rank(symbols[at - 1], symbols[at], out merged[at - 1]);
            if (at < n - 1)
                ranks[at] = _mergeTable.Rank(symbols[at], symbols[at + 1], out merged[at]);
        }
        return n;
    }

    /// <summary>The same merges for long spans (a run of spaces, a base64 blob): a linked list and a heap of (rank, position).</summary>
    private int MergeWithHeap(Span<int> symbols)
    {
        var n = symbols.Length;
        var next = new int[n];
        var previous = new int[n];
        var removed = new bool[n];
        var queue = new PriorityQueue<int, long>();
        for (var i = 0; i < n; i++)
        {
            next[i] = i + 1 < n ? i + 1 : -1;
            previous[i] = i - 1;
        }
        for (var i = 0; i < n - 1; i++)
            Enqueue(symbols, i, i + 1);

        while (queue.TryDequeue(out var position, out var priority))
        {
            var right = next[position];
            if (removed[position] || right < 0)
                continue;
            var rank = _mergeTable.Rank(symbols[position], symbols[right], out var merged);
            if (rank != (int)(priority >> 32))
                continue;
            symbols[position] = merged;
            removed[right] = true;
            next[position] = next[right];
            if (next[right] >= 0)
                previous[next[right]] = position;
            if (previous[position] >= 0)
                Enqueue(symbols, previous[position], position);
            if (next[position] >= 0)
                Enqueue(symbols, position, next[position]);
        }

        var length = 0;
        for (var i = 0; i >= 0; i = next[i])
            symbols[length++] = symbols[i];
        return length;

        void Enqueue(Span<int> symbols, int left, int right)
        {
            var rank = _mergeTable.Rank(symbols[left], symbols[right], out _);
            if (rank != int.MaxValue)
                queue.Enqueue(left, ((long)rank << 32) | (uint)left);
        }
    }

    /// <summary>Span → ids, per thread, started over when full so that memory stays bounded.</summary>
    private sealed class WordCache
    {
        private readonly Dictionary<string, int[]> _entries = new(StringComparer.Ordinal);
        private readonly Dictionary<string, int[]>.AlternateLookup<ReadOnlySpan<char>> _lookup;

        public WordCache() => _lookup = _entries.GetAlternateLookup<ReadOnlySpan<char>>();

        public bool TryGet(ReadOnlySpan<char> span, out int[] ids) => _lookup.TryGetValue(span, out ids!);

        public void Add(ReadOnlySpan<char> span, int[] ids)
        {
            if (_entries.Count >= CacheCapacity)
                _entries.Clear();
            _lookup.TryAdd(span, ids);
        }
    }
}
