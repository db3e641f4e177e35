using Forge.Testing;

namespace Forge.Tokenization.Tests;

public sealed class DatasetTokenizerTests : IDisposable
{
    private readonly TemporaryFolder _folder = new("dataset");

    [Fact]
    public void DocumentsAreEncodedInOrderIntoAShardSeparatedByEndOfText()
    {
        var tokenizer = TrainedTokenizer.Instance;
        var documents = VariedText.Generate(seed: 51, length: 30_000).Split("\n\n");
        var path = Path.Combine(_folder.Path, "train-00000.bin");
        var separator = tokenizer.TokenToId("<|endoftext|>")!.Value;

        using (var file = File.Create(path))
        using (var shard = new TokenShardWriter(file, tokenizer.VocabularySize, separator, "varied-3000"))
        {
            Assert.Equal(documents.Length, DatasetTokenizer.Write(tokenizer, documents, shard, batchSize: 7));
            shard.Complete();
        }

        using var reader = new TokenShardReader(path);
        var tokens = new long[reader.Count];
        reader.Read(0, tokens);
        var expected = string.Join("<|endoftext|>", documents);
        Assert.Equal(tokenizer.Encode(expected).Select(id => (long)id), tokens);
        Assert.Equal(expected, tokenizer.Decode([.. tokens.Select(id => (int)id)]));
    }

    public void Dispose() => _folder.Dispose();
}
