namespace Forge.Tokenization;

/// <summary>Encodes a stream of documents into a token shard; which documents go to train or validation is the caller's choice.</summary>
public static class DatasetTokenizer
{
    /// <summary>
    /// Encodes <paramref name="documents"/> in batches on all cores and appends them in order to <paramref name="shard"/>,
    /// which separates them with its separator token. Returns the number of documents written.
    /// </summary>
    public static long Write(ITokenizer tokenizer, IEnumerable<string> documents, TokenShardWriter shard, int batchSize = 256, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(batchSize);
        var written = 0L;
        foreach (var batch in documents.Chunk(batchSize))
        {
            cancellationToken.ThrowIfCancellationRequested();
            var encoded = new int[batch.Length][];
            Parallel.For(0, batch.Length, new ParallelOptions { CancellationToken = cancellationToken }, i => encoded[i] = tokenizer.Encode(batch[i]));
            foreach (var ids in encoded)
                shard.AppendDocument(ids);
            written += batch.Length;
        }
        return written;
    }
}
