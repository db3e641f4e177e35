using System.Buffers;
using System.Runtime.InteropServices;

namespace Forge.Tokenization;

/// <summary>
/// Counts pre-tokenised spans ("words") over a stream of sequences, in parallel: each worker counts into its own
/// table (looked up by span, so a word seen before costs no allocation) and the tables are added up at the end.
/// A sequence is pre-tokenised on its own, as Hugging Face's trainer does: a document, or one line of a text file.
/// Added tokens are cut out of a sequence first, so they are never counted, split or merged.
/// </summary>
internal sealed class WordCounter(PreTokenizer preTokenizer, IReadOnlyList<string> addedTokens, int maxDegreeOfParallelism)
{
    private const int BlockChars = 1 << 20;
    private readonly SearchValues<string>? _addedTokenSearch = addedTokens.Count == 0 ? null : SearchValues.Create([.. addedTokens], StringComparison.Ordinal);
    private readonly string[] _addedTokensLongestFirst = [.. addedTokens.OrderByDescending(t => t.Length)];
    private readonly Lock _gate = new();
    private Dictionary<string, long> _counts = new(StringComparer.Ordinal);

    public IReadOnlyDictionary<string, long> Counts => _counts;

    /// <summary>Each document is one sequence.</summary>
    public void AddDocuments(IEnumerable<string> documents, CancellationToken cancellationToken) =>
        CountInParallel(documents.SelectMany(SplitLongDocument), static (counts, piece, counter) => counter.CountSequence(counts, piece.Span), cancellationToken);

    /// <summary>
    /// A long document as pieces of about a million characters, so that the workers share it, cut only where a span
    /// always starts (<see cref="PreTokenizer.AlwaysStartsSpan"/>): the counts are those of the whole document.
    /// </summary>
    private IEnumerable<ReadOnlyMemory<char>> SplitLongDocument(string document)
    {
        var rest = document.AsMemory();
        while (rest.Length > 2 * BlockChars && !_addedTokensLongestFirst.Any(t => t.Contains('\n', StringComparison.Ordinal)))
        {
            var cut = -1;
            var span = rest.Span;
            for (var i = BlockChars; i < span.Length && cut < 0; i++)
            {
                if (PreTokenizer.AlwaysStartsSpan(span, i))
                    cut = i;
            }
            if (cut < 0)
                break;
            yield return rest[..cut];
            rest = rest[cut..];
        }
        yield return rest;
    }

    /// <summary>Each line, with its line ending, is one sequence (as in Hugging Face's <c>train_from_files</c>).</summary>
    public void AddFiles(IEnumerable<string> paths, CancellationToken cancellationToken) =>
        CountInParallel(paths.SelectMany(ReadBlocksOfLines), static (counts, block, counter) => counter.CountLines(counts, block), cancellationToken);

    public async Task AddDocumentsAsync(IAsyncEnumerable<string> documents, CancellationToken cancellationToken)
    {
        // Documents are handed to the workers in batches, so that a slow source and the counting overlap.
        var batch = new List<string>();
        var batchChars = 0;
        Task pending = Task.CompletedTask;
        await foreach (var document in documents.WithCancellation(cancellationToken).ConfigureAwait(false))
        {
            batch.Add(document);
            batchChars += document.Length;
            if (batchChars >= BlockChars)
            {
                await pending.ConfigureAwait(false);
                var full = batch;
                pending = Task.Run(() => AddDocuments(full, cancellationToken), cancellationToken);
                batch = [];
                batchChars = 0;
            }
        }
        await pending.ConfigureAwait(false);
        AddDocuments(batch, cancellationToken);
    }

    private void CountInParallel<T>(IEnumerable<T> items, Action<Dictionary<string, long>.AlternateLookup<ReadOnlySpan<char>>, T, WordCounter> count, CancellationToken cancellationToken)
    {
        var options = new ParallelOptions { MaxDegreeOfParallelism = maxDegreeOfParallelism, CancellationToken = cancellationToken };
        Parallel.ForEach(
            items,
            options,
            () => new Dictionary<string, long>(StringComparer.Ordinal),
            (item, _, local) =>
            {
                count(local.GetAlternateLookup<ReadOnlySpan<char>>(), item, this);
                return local;
            },
            Absorb);
    }

    private void Absorb(Dictionary<string, long> local)
    {
        lock (_gate)
        {
            var (large, small) = local.Count > _counts.Count ? (local, _counts) : (_counts, local);
            foreach (var (word, count) in small)
                CollectionsMarshal.GetValueRefOrAddDefault(large, word, out _) += count;
            _counts = large;
        }
    }

    private void CountLines(Dictionary<string, long>.AlternateLookup<ReadOnlySpan<char>> counts, string block)
    {
        var text = block.AsSpan();
        while (!text.IsEmpty)
        {
            var end = text.IndexOf('\n') + 1;
            if (end == 0)
                end = text.Length;
            CountSequence(counts, text[..end]);
            text = text[end..];
        }
    }

    private void CountSequence(Dictionary<string, long>.AlternateLookup<ReadOnlySpan<char>> counts, ReadOnlySpan<char> sequence)
    {
        if (_addedTokenSearch is not null)
        {
            int at;
            while ((at = sequence.IndexOfAny(_addedTokenSearch)) >= 0)
            {
                CountSpans(counts, sequence[..at]);
                sequence = sequence[(at + AddedTokenLength(sequence[at..]))..];
            }
        }
        CountSpans(counts, sequence);
    }

    private int AddedTokenLength(ReadOnlySpan<char> text)
    {
        foreach (var token in _addedTokensLongestFirst)
        {
            if (text.StartsWith(token, StringComparison.Ordinal))
                return token.Length;
        }
        throw new InvalidOperationException("The added-token search matched no added token.");
    }

    private void CountSpans(Dictionary<string, long>.AlternateLookup<ReadOnlySpan<char>> counts, ReadOnlySpan<char> text)
    {
        for (var start = 0; start < text.Length;)
        {
            var end = preTokenizer.NextEnd(text, start);
            CollectionsMarshal.GetValueRefOrAddDefault(counts, text[start..end], out _)++;
            start = end;
        }
    }

    /// <summary>A file as blocks of about a million characters that end at a line break.</summary>
    private static IEnumerable<string> ReadBlocksOfLines(string path)
    {
        using var reader = new StreamReader(path, ByteLevel.Utf8, detectEncodingFromByteOrderMarks: true);
        var buffer = new char[BlockChars];
        var filled = 0;
        while (true)
        {
            var read = reader.ReadBlock(buffer, filled, buffer.Length - filled);
            filled += read;
            if (filled == 0)
                yield break;
            var cut = read == 0 ? filled : buffer.AsSpan(0, filled).LastIndexOf('\n') + 1;
            if (cut == 0)
            {
                // A line longer than the buffer: grow it rather than split the line.
                if (filled == buffer.Length)
                    Array.Resize(ref buffer, buffer.Length * 2);
                continue;
            }
            yield return new string(buffer, 0, cut);
            buffer.AsSpan(cut, filled - cut).CopyTo(buffer);
            filled -= cut;
        }
    }
}
