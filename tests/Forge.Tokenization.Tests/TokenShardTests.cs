using Forge.Testing;
using Forge.Tokenization;

namespace Forge.Tokenization.Tests;

public sealed class TokenShardTests : IDisposable
{
    private readonly TemporaryFolder _folder = new("shards");

    private string Write(int vocabularySize, int separator, params int[][] documents)
    {
        var path = Path.Combine(_folder.Path, $"{Guid.NewGuid():N}.bin");
        using var file = File.Create(path);
        using var writer = new TokenShardWriter(file, vocabularySize, separator, "tok-1");
        foreach (var document in documents)
            writer.AppendDocument(document);
        writer.Complete();
        return path;
    }

    [Fact]
    public void DocumentsAreSeparatedAndReadBackAsWindows()
    {
        var path = Write(100, 0, [5, 6, 7], [8, 9], [10]);

        using var reader = new TokenShardReader(path);
        var all = new long[reader.Count];
        reader.Read(0, all);

        Assert.Equal([5, 6, 7, 0, 8, 9, 0, 10], all);
        Assert.Equal(3, reader.Header.DocumentCount);
        Assert.Equal("tok-1", reader.Header.TokenizerId);
        Assert.Equal(2, reader.Header.BytesPerToken);
        var window = new long[3];
        reader.Read(4, window);
        Assert.Equal([8, 9, 0], window);
    }

    [Fact]
    public void ALargeVocabularyUsesFourBytesPerToken()
    {
        var path = Write(100_000, 99_999, [70_000, 1], [99_998]);

        using var reader = new TokenShardReader(path);
        var all = new long[reader.Count];
        reader.Read(0, all);

        Assert.Equal(4, reader.Header.BytesPerToken);
        Assert.Equal([70_000, 1, 99_999, 99_998], all);
        Assert.Equal(256 + 4 * 4, new FileInfo(path).Length);
    }

    [Fact]
    public void ATokenOutsideTheVocabularyIsRefused()
    {
        using var stream = new MemoryStream();
        using var writer = new TokenShardWriter(stream, 10, 0, "t");

        Assert.Throws<ArgumentOutOfRangeException>(() => writer.AppendDocument([3, 10]));
    }

    [Fact]
    public void ATruncatedOrForeignFileIsRejected()
    {
        var path = Write(100, 0, [1, 2, 3, 4]);
        var truncated = Path.Combine(_folder.Path, "truncated.bin");
        File.WriteAllBytes(truncated, File.ReadAllBytes(path)[..^2]);
        var foreign = Path.Combine(_folder.Path, "foreign.bin");
        File.WriteAllBytes(foreign, new byte[300]);

        Assert.Throws<InvalidDataException>(() => new TokenShardReader(truncated));
        Assert.Throws<InvalidDataException>(() => new TokenShardReader(foreign));
    }

    [Fact]
    public void AWindowPastTheEndIsRefused()
    {
        using var reader = new TokenShardReader(Write(100, 0, [1, 2, 3]));

        Assert.Throws<ArgumentOutOfRangeException>(() => reader.Read(2, new long[2]));
    }

    public void Dispose() => _folder.Dispose();
}
