using Forge.Tokenization;

namespace Forge.Model;

/// <summary>Token shards opened (memory-mapped) for training or validation. All shards must come from one tokenizer.</summary>
public sealed class TokenDataset : IDisposable
{
    private readonly TokenShardReader[] shards;

    public TokenDataset(IEnumerable<string> shardPaths)
    {
        var paths = shardPaths.ToArray();
        if (paths.Length == 0)
            throw new ArgumentException("A dataset needs at least one token shard.", nameof(shardPaths));
        var opened = new List<TokenShardReader>();
        try
        {
            foreach (var path in paths)
                opened.Add(new TokenShardReader(path));
            var tokenizers = opened.Select(s => s.Header.TokenizerId).Distinct(StringComparer.Ordinal).ToArray();
            if (tokenizers.Length > 1)
                throw new InvalidDataException($"The shards come from different tokenizers ({string.Join(", ", tokenizers)}); a dataset uses one.");
            var vocabularies = opened.Select(s => s.Header.VocabularySize).Distinct().ToArray();
            if (vocabularies.Length > 1)
                throw new InvalidDataException($"The shards disagree on the vocabulary size ({string.Join(", ", vocabularies)}).");
        }
        catch
        {
            foreach (var shard in opened)
                shard.Dispose();
            throw;
        }
        shards = [.. opened];
    }

    public static TokenDataset Open(params string[] shardPaths) => new(shardPaths);

    public IReadOnlyList<TokenShardReader> Shards => shards;

    public string TokenizerId => shards[0].Header.TokenizerId;

    public int VocabularySize => shards[0].Header.VocabularySize;

    public long TokenCount => shards.Sum(s => s.Count);

    public void Dispose()
    {
        foreach (var shard in shards)
            shard.Dispose();
    }
}

/// <summary>Where a training loop's rows come from. The generator is the only state, so a checkpoint that stores it resumes the same draws.</summary>
internal interface IBatchSource
{
    BatchRandom Random { get; }

    /// <summary>Fills <paramref name="inputs"/> and <paramref name="targets"/>, each a whole number of rows, row by row.</summary>
    void Fill(Span<long> inputs, Span<long> targets);
}

/// <summary>
/// Draws random windows of ContextLength + 1 tokens, as nanoGPT's get_batch does: the first T are the inputs, the last
/// T the targets. Every start position of every shard is equally likely; windows never cross shards. The generator
/// is the only state, so storing it is enough to draw the same batches again.
/// </summary>
public sealed class BatchSampler : IBatchSource
{
    private readonly TokenDataset data;
    private readonly int contextLength;
    private readonly long[] startsBefore; // startsBefore[i]: how many start positions the shards before i offer

    public BatchSampler(TokenDataset data, int contextLength, BatchRandom random)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(contextLength);
        this.data = data;
        this.contextLength = contextLength;
        Random = random;
        startsBefore = new long[data.Shards.Count + 1];
        for (var i = 0; i < data.Shards.Count; i++)
            startsBefore[i + 1] = startsBefore[i] + Math.Max(0, data.Shards[i].Count - contextLength);
        if (Windows == 0)
        {
            var longest = data.Shards.Max(s => s.Count);
            throw new ArgumentException(
                $"A context of {contextLength} tokens needs a shard of at least {contextLength + 1} tokens (inputs plus the next token); the longest shard here has {longest}.",
                nameof(contextLength));
        }
    }

    public BatchRandom Random { get; }

    /// <summary>How many distinct windows the shards offer.</summary>
    public long Windows => startsBefore[^1];

    /// <summary>Fills <paramref name="inputs"/> and <paramref name="targets"/>, each batchSize × ContextLength, row by row.</summary>
    public void Fill(Span<long> inputs, Span<long> targets)
    {
        if (inputs.Length != targets.Length || inputs.Length % contextLength != 0)
            throw new ArgumentException($"Inputs and targets must both hold whole rows of {contextLength} tokens.");
        for (var row = 0; row < inputs.Length / contextLength; row++)
        {
            var window = Random.NextBelow(Windows);
            var shard = Array.BinarySearch(startsBefore, window);
            shard = shard >= 0 ? shard : ~shard - 1;
            while (startsBefore[shard + 1] == window)
                shard++; // skip shards too short to offer any start
            var start = window - startsBefore[shard];
            data.Shards[shard].Read(start, inputs.Slice(row * contextLength, contextLength));
            data.Shards[shard].Read(start + 1, targets.Slice(row * contextLength, contextLength));
        }
    }
}
