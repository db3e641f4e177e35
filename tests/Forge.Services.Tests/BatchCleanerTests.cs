using System.Text;
using System.Text.Json;
using Forge.Cleaning.Domain;
using Forge.Storage.Artifacts;
using Forge.Testing;

namespace Forge.Services.Tests;

public sealed class BatchCleanerTests : IDisposable
{
    private readonly TemporaryFolder _folder = new("cleaner");
    private readonly FileSystemArtifactStore _artifacts;

    public BatchCleanerTests() => _artifacts = new FileSystemArtifactStore(_folder.Path);

    [Fact]
    public async Task ABatchIsNormalisedIntoOneShardWithCountsPerDropReason()
    {
        var raw = string.Join('\n',
            """{"text":"Hello   world","id":"d1"}""",
            """{"text":"   "}""",
            """not json""",
            """{"text":"cafe\u0301\r\n\r\n\r\nnext"}""",
            "") + "\n";
        await _artifacts.PutBytesAsync("datasets/d/raw/b1.jsonl", Encoding.UTF8.GetBytes(raw));

        var result = await new BatchCleaner(_artifacts).CleanAsync("datasets/d/raw/b1.jsonl", "datasets/d/clean/b1.jsonl", CancellationToken.None);

        Assert.Equal(4, result.DocumentsIn);
        Assert.Equal(2, result.DocumentsOut);
        Assert.Equal(1, result.Dropped[BatchCleaner.EmptyAfterNormalisation]);
        Assert.Equal(1, result.Dropped[BatchCleaner.Unreadable]);
        var lines = Encoding.UTF8.GetString(await _artifacts.ReadAllBytesAsync("datasets/d/clean/b1.jsonl")).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(result.BytesOut, (await _artifacts.StatAsync("datasets/d/clean/b1.jsonl"))!.Size);
        var documents = lines.Select(line => JsonDocument.Parse(line).RootElement).ToList();
        Assert.Equal("Hello world", documents[0].GetProperty("text").GetString());
        Assert.Equal("d1", documents[0].GetProperty("id").GetString());
        Assert.Equal("café\n\nnext", documents[1].GetProperty("text").GetString());
    }

    [Fact]
    public async Task CleaningTheSameBatchTwiceWritesTheSameShard()
    {
        await _artifacts.PutBytesAsync("datasets/d/raw/b2.jsonl", Encoding.UTF8.GetBytes("""{"text":"one  two"}""" + "\n"));
        var cleaner = new BatchCleaner(_artifacts);

        await cleaner.CleanAsync("datasets/d/raw/b2.jsonl", BatchCleaner.ShardKeyFor("d", "b2"), CancellationToken.None);
        var first = await _artifacts.ReadAllBytesAsync(BatchCleaner.ShardKeyFor("d", "b2"));
        await cleaner.CleanAsync("datasets/d/raw/b2.jsonl", BatchCleaner.ShardKeyFor("d", "b2"), CancellationToken.None);

        Assert.Equal(first, await _artifacts.ReadAllBytesAsync(BatchCleaner.ShardKeyFor("d", "b2")));
        Assert.Single(await _artifacts.ListAsync("datasets/d/clean/").ToListAsync());
    }

    public void Dispose() => _folder.Dispose();
}
