using System.Runtime.InteropServices;

namespace Forge.Tokenization;

/// <summary>Settings of <see cref="BpeTrainer"/>.</summary>
public sealed record BpeTrainingOptions
{
    /// <summary>Special tokens + 256 bytes + merges. Training stops earlier when no pair is frequent enough.</summary>
    public int VocabularySize { get; init; } = 8192;

    /// <summary>A pair seen fewer times than this is never merged (Hugging Face's default is 0; one sighting is noise).</summary>
    public long MinimumPairFrequency { get; init; } = 2;

    /// <summary>Ids 0, 1, … in this order; cut out of the training text, never split and never merged.</summary>
    public IReadOnlyList<string> SpecialTokens { get; init; } = ["<|endoftext|>", "<|system|>", "<|user|>", "<|assistant|>"];

    public PreTokenizerPattern Pattern { get; init; } = PreTokenizerPattern.Gpt2;

    /// <summary>Threads counting words; -1 for all cores.</summary>
    public int MaxDegreeOfParallelism { get; init; } = -1;
}

/// <summary>
/// Trains a byte-level BPE vocabulary, merge for merge the same as Hugging Face's <c>BpeTrainer</c>
/// (tokenizers/src/models/bpe/trainer.rs) given the same sequences:
/// <list type="bullet">
/// <item>ids: the special tokens, then the 256 byte characters sorted by code point, then one per merge;</item>
/// <item>pairs are counted over distinct words weighted by their counts, overlapping occurrences included
/// ("aaa" counts (a, a) twice); a merge rewrites a word left to right without overlap;</item>
/// <item>the next merge is the pair with the highest count; a tie goes to the smallest (left id, right id);</item>
/// <item>a merge whose string is already a token reuses that token's id (and takes no new vocabulary slot);</item>
/// <item>training stops at the vocabulary size, or when the best count is below the minimum frequency.</item>
/// </list>
/// Counts are updated incrementally from the words each merge touches (pair → word postings), and the queue is a
/// lazy max-heap: an entry whose count went stale is re-queued with the current count when it surfaces.
/// The one difference from Hugging Face: special tokens inside the training text are cut out here, whereas Hugging
/// Face's trainer pre-tokenises them like any text ("&lt;|", "endoftext", "|&gt;").
/// </summary>
public sealed class BpeTrainer
{
    private readonly BpeTrainingOptions _options;
    private readonly WordCounter _counter;

    public BpeTrainer(BpeTrainingOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var specials = options.SpecialTokens;
        if (specials.Any(string.IsNullOrEmpty))
            throw new ArgumentException("A special token cannot be empty.", nameof(options));
        if (specials.Distinct(StringComparer.Ordinal).Count() != specials.Count)
            throw new ArgumentException("The special tokens must be distinct.", nameof(options));
        if (options.VocabularySize < 256 + specials.Count)
            throw new ArgumentOutOfRangeException(nameof(options), options.VocabularySize,
                $"The vocabulary size must be at least 256 (bytes) + {specials.Count} (special tokens) = {256 + specials.Count}.");
        if (options.MinimumPairFrequency < 0)
            throw new ArgumentOutOfRangeException(nameof(options), options.MinimumPairFrequency, "The minimum pair frequency cannot be negative.");
        _options = options;
        _counter = new WordCounter(PreTokenizer.For(options.Pattern), specials, options.MaxDegreeOfParallelism);
    }

    /// <summary>Trains on <paramref name="documents"/>, each a sequence of its own.</summary>
    public static BpeTokenizer Train(IEnumerable<string> documents, BpeTrainingOptions options, CancellationToken cancellationToken = default)
    {
        var trainer = new BpeTrainer(options);
        trainer.AddDocuments(documents, cancellationToken);
        return trainer.Train(cancellationToken);
    }

    /// <summary>Trains on UTF-8 text files, each line (with its line ending) a sequence, as Hugging Face's <c>train_from_files</c>.</summary>
    public static BpeTokenizer TrainFromFiles(IEnumerable<string> paths, BpeTrainingOptions options, CancellationToken cancellationToken = default)
    {
        var trainer = new BpeTrainer(options);
        trainer.AddFiles(paths, cancellationToken);
        return trainer.Train(cancellationToken);
    }

    /// <summary>The words counted so far and their counts.</summary>
    public IReadOnlyDictionary<string, long> WordCounts => _counter.Counts;

    public void AddDocuments(IEnumerable<string> documents, CancellationToken cancellationToken = default) => _counter.AddDocuments(documents, cancellationToken);

    public Task AddDocumentsAsync(IAsyncEnumerable<string> documents, CancellationToken cancellationToken = default) => _counter.AddDocumentsAsync(documents, cancellationToken);

    public void AddFiles(IEnumerable<string> paths, CancellationToken cancellationToken = default) => _counter.AddFiles(paths, cancellationToken);

    /// <summary>Learns the merges from the words counted so far.</summary>
    public BpeTokenizer Train(CancellationToken cancellationToken = default)
    {
        var specials = _options.SpecialTokens;
        var tokens = new List<string>(_options.VocabularySize);
        var idOfToken = new Dictionary<string, int>(_options.VocabularySize, StringComparer.Ordinal);
        foreach (var special in specials)
            Add(special);
        for (var rank = 0; rank < 256; rank++)
            Add(ByteLevel.CharOf(ByteLevel.ByteAtRank(rank)).ToString());

        var words = new WordTable(_counter.Counts, specials.Count);
        var merges = new List<(int Left, int Right)>();
        var queue = new PriorityQueue<Postings, (long Count, long Pair)>(words.InitialQueue(), HighestCountThenSmallestPair.Instance);
        var gained = new Dictionary<long, Postings>();

        while (tokens.Count < _options.VocabularySize && queue.TryDequeue(out var postings, out var top))
        {
            cancellationToken.ThrowIfCancellationRequested();
            var count = words.PairCount(top.Pair);
            if (count != top.Count)
            {
                queue.Enqueue(postings, (count, top.Pair));
                continue;
            }
            if (count < 1 || count < _options.MinimumPairFrequency)
                break;

            var (left, right) = Unpack(top.Pair);
            var merged = tokens[left] + tokens[right];
            if (!idOfToken.TryGetValue(merged, out var mergedId))
                mergedId = Add(merged);
            merges.Add((left, right));
            words.Merge(left, right, mergedId, postings, gained);
            foreach (var (pair, wordsWithPair) in gained)
            {
                var pairCount = words.PairCount(pair);
                if (pairCount > 0)
                    queue.Enqueue(wordsWithPair, (pairCount, pair));
            }
            gained.Clear();
        }

        var added = specials.Select((content, id) => new AddedToken(id, content)).ToList();
        return new BpeTokenizer(tokens, merges, added, _options.Pattern);

        int Add(string token)
        {
            idOfToken.Add(token, tokens.Count);
            tokens.Add(token);
            return tokens.Count - 1;
        }
    }

    internal static long Pack(int left, int right) => ((long)left << 32) | (uint)right;

    internal static (int Left, int Right) Unpack(long pair) => ((int)(pair >> 32), (int)pair);

    /// <summary>Hugging Face's order: the highest count first; on a tie the smallest (left, right) pair of ids.</summary>
    private sealed class HighestCountThenSmallestPair : IComparer<(long Count, long Pair)>
    {
        public static readonly HighestCountThenSmallestPair Instance = new();

        public int Compare((long Count, long Pair) x, (long Count, long Pair) y) =>
            x.Count != y.Count ? y.Count.CompareTo(x.Count) : x.Pair.CompareTo(y.Pair);
    }

    /// <summary>Indexes of the words a pair was seen in, each once (a pair's occurrences in one word are added together).</summary>
    internal sealed class Postings
    {
        private int[] _words = new int[4];

        public int Count { get; private set; }

        public ReadOnlySpan<int> Words => _words.AsSpan(0, Count);

        public void Add(int word)
        {
            if (Count > 0 && _words[Count - 1] == word)
                return;
            if (Count == _words.Length)
                Array.Resize(ref _words, Count * 2);
            _words[Count++] = word;
        }
    }

    /// <summary>The distinct words as symbol ids in one flat array, their counts, and the count of every pair.</summary>
    private sealed class WordTable
    {
        private readonly int[] _symbols;
        private readonly int[] _start;
        private readonly int[] _length;
        private readonly long[] _count;
        private readonly Dictionary<long, long> _pairCounts = [];

        public WordTable(IReadOnlyDictionary<string, long> wordCounts, int firstByteId)
        {
            var n = wordCounts.Count;
            _start = new int[n];
            _length = new int[n];
            _count = new long[n];
            var symbols = new List<int>();
            var buffer = new byte[256];
            var w = 0;
            foreach (var (word, count) in wordCounts)
            {
                var max = ByteLevel.Utf8.GetMaxByteCount(word.Length);
                if (max > buffer.Length)
                    buffer = new byte[max];
                var length = ByteLevel.GetUtf8Bytes(word, buffer);
                _start[w] = symbols.Count;
                _length[w] = length;
                _count[w] = count;
                for (var i = 0; i < length; i++)
                    symbols.Add(firstByteId + ByteLevel.RankOf(buffer[i]));
                w++;
            }
            _symbols = [.. symbols];
        }

        public long PairCount(long pair) => _pairCounts.GetValueOrDefault(pair);

        public IEnumerable<(Postings, (long, long))> InitialQueue()
        {
            var postings = new Dictionary<long, Postings>();
            for (var w = 0; w < _start.Length; w++)
            {
                var word = _symbols.AsSpan(_start[w], _length[w]);
                for (var i = 0; i + 1 < word.Length; i++)
                {
                    var pair = Pack(word[i], word[i + 1]);
                    CollectionsMarshal.GetValueRefOrAddDefault(_pairCounts, pair, out _) += _count[w];
                    ref var list = ref CollectionsMarshal.GetValueRefOrAddDefault(postings, pair, out _);
                    (list ??= new Postings()).Add(w);
                }
            }
            return postings.Where(p => _pairCounts[p.Key] > 0).Select(p => (p.Value, (_pairCounts[p.Key], p.Key)));
        }

        /// <summary>
        /// Rewrites (<paramref name="left"/>, <paramref name="right"/>) as <paramref name="merged"/> in the words of
        /// <paramref name="postings"/>, updating pair counts; every pair that gained occurrences ends up in <paramref name="gained"/>
        /// with the words it gained them in.
        /// </summary>
        public void Merge(int left, int right, int merged, Postings postings, Dictionary<long, Postings> gained)
        {
            foreach (var w in postings.Words)
            {
                var symbols = _symbols.AsSpan(_start[w], _length[w]);
                var count = _count[w];
                var read = 0;
                var write = 0;
                while (read < symbols.Length)
                {
                    if (symbols[read] == left && read + 1 < symbols.Length && symbols[read + 1] == right)
                    {
                        if (write > 0)
                        {
                            var before = symbols[write - 1];
                            Change(Pack(before, left), -count);
                            Change(Pack(before, merged), count);
                            Gain(Pack(before, merged), w);
                        }
                        if (read + 2 < symbols.Length)
                        {
                            var after = symbols[read + 2];
                            Change(Pack(right, after), -count);
                            Change(Pack(merged, after), count);
                            Gain(Pack(merged, after), w);
                        }
                        symbols[write++] = merged;
                        read += 2;
                    }
                    else
                    {
                        symbols[write++] = symbols[read++];
                    }
                }
                _length[w] = write;
            }

            void Gain(long pair, int word)
            {
                ref var list = ref CollectionsMarshal.GetValueRefOrAddDefault(gained, pair, out _);
                (list ??= new Postings()).Add(word);
            }
        }

        private void Change(long pair, long delta) => CollectionsMarshal.GetValueRefOrAddDefault(_pairCounts, pair, out _) += delta;
    }
}
