using System.Text;
using System.Text.Json;
using Forge.Cleaning.Domain;
using Forge.Cleaning.Pipeline;
using Forge.Storage.Artifacts;
using Forge.Storage.Metadata;
using Forge.Testing;

namespace Forge.Services.Tests;

public sealed class BatchCleanerTests : IDisposable
{
    private static readonly CleaningSettings NoQualityFilters = new() { QualityFilters = false };
    private readonly TemporaryFolder _folder = new("cleaner");
    private readonly FileSystemArtifactStore _artifacts;
    private readonly LiteDbMetadataStore _metadata;
    private readonly BatchCleaner _cleaner;

    public BatchCleanerTests()
    {
        _artifacts = new FileSystemArtifactStore(Path.Combine(_folder.Path, "artifacts"));
        _metadata = new LiteDbMetadataStore(Path.Combine(_folder.Path, "metadata.db"));
        _cleaner = new BatchCleaner(_artifacts, new Deduplicator(new CleaningStore(_metadata), TimeProvider.System));
    }

    private async Task<CleaningResult> CleanAsync(string batchId, string rawJsonLines, CleaningSettings settings)
    {
        await _artifacts.PutBytesAsync($"datasets/d/raw/{batchId}.jsonl", Encoding.UTF8.GetBytes(rawJsonLines));
        return await _cleaner.CleanAsync("d", batchId, $"datasets/d/raw/{batchId}.jsonl", BatchCleaner.ShardKeyFor("d", batchId), settings, CancellationToken.None);
    }

    private async Task<List<JsonElement>> ShardAsync(string batchId) =>
        Encoding.UTF8.GetString(await _artifacts.ReadAllBytesAsync(BatchCleaner.ShardKeyFor("d", batchId)))
            .Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(line => JsonDocument.Parse(line).RootElement.Clone())
            .ToList();

    [Fact]
    public async Task ABatchIsNormalisedIntoOneShardWithCountsPerDropReason()
    {
        var raw = string.Join('\n',
            """{"text":"Hello   world","id":"d1"}""",
            """{"text":"   "}""",
            """not json""",
            """{"text":"cafe\u0301\r\n\r\n\r\nnext"}""",
            "") + "\n";

        var result = await CleanAsync("b1", raw, NoQualityFilters);

        Assert.Equal(4, result.DocumentsIn);
        Assert.Equal(2, result.DocumentsOut);
        Assert.Equal(1, result.Dropped[DocumentCleaner.EmptyAfterNormalisation]);
        Assert.Equal(1, result.Dropped[BatchCleaner.Unreadable]);
        Assert.Equal(result.BytesOut, (await _artifacts.StatAsync(BatchCleaner.ShardKeyFor("d", "b1")))!.Size);
        var documents = await ShardAsync("b1");
        Assert.Equal("Hello world", documents[0].GetProperty("text").GetString());
        Assert.Equal("d1", documents[0].GetProperty("id").GetString());
        Assert.Equal("café\n\nnext", documents[1].GetProperty("text").GetString());
        Assert.Equal(Deduplicator.TextHash("café\n\nnext"), documents[1].GetProperty("h").GetString());
    }

    [Fact]
    public async Task CleaningTheSameBatchTwiceWritesTheSameShardAndDropsNothingAsItsOwnDuplicate()
    {
        var raw = """{"text":"one  two three four five six"}""" + "\n" + """{"text":"seven eight nine ten eleven twelve"}""" + "\n";

        var first = await CleanAsync("b2", raw, NoQualityFilters);
        var firstShard = await _artifacts.ReadAllBytesAsync(BatchCleaner.ShardKeyFor("d", "b2"));
        var second = await CleanAsync("b2", raw, NoQualityFilters);

        Assert.Equal(2, first.DocumentsOut);
        Assert.Equal(2, second.DocumentsOut);
        Assert.Equal(firstShard, await _artifacts.ReadAllBytesAsync(BatchCleaner.ShardKeyFor("d", "b2")));
        Assert.Single(await _artifacts.ListAsync("datasets/d/clean/").ToListAsync());
    }

    [Fact]
    public async Task DuplicatesAreDroppedWithinABatchAndAcrossBatchesAndRestarts()
    {
        const string Text = "The quick brown fox jumps over the lazy dog near the river bank, and then it runs back up the hill "
            + "to the old farm where the farmer keeps his sheep, his two cows and a very noisy goose that wakes everyone today";
        // The last of 43 words changed: one of 39 five-word shingles differs, a Jaccard similarity of 38/40 = 0.95.
        var near = Text.Replace("today", "again", StringComparison.Ordinal);
        await CleanAsync("b3", Line(Text) + Line(Text) + Line("Something else entirely, written by another person for this test"), NoQualityFilters);

        // A new deduplicator over the same store is what a restarted process has.
        var restarted = new BatchCleaner(_artifacts, new Deduplicator(new CleaningStore(_metadata), TimeProvider.System));
        await _artifacts.PutBytesAsync("datasets/d/raw/b4.jsonl", Encoding.UTF8.GetBytes(Line(Text) + Line(near)));
        var later = await restarted.CleanAsync("d", "b4", "datasets/d/raw/b4.jsonl", BatchCleaner.ShardKeyFor("d", "b4"), NoQualityFilters, CancellationToken.None);

        Assert.Equal(2, (await ShardAsync("b3")).Count);
        Assert.Equal(0, later.DocumentsOut);
        Assert.Equal(1, later.Dropped[Deduplicator.ExactDuplicate]);
        Assert.Equal(1, later.Dropped[Deduplicator.NearDuplicate]);
        Assert.StartsWith(later.Samples[Deduplicator.ExactDuplicate][0].Excerpt, Text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task PersonalDataIsRedactedAndCounted()
    {
        var result = await CleanAsync("b5", Line("Write to jane.doe@example.com or call +44 20 7946 0958 today please."), NoQualityFilters);

        var text = (await ShardAsync("b5"))[0].GetProperty("text").GetString();
        Assert.Equal("Write to <EMAIL> or call <PHONE> today please.", text);
        Assert.Equal(1, result.Redactions["email"]);
        Assert.Equal(1, result.Redactions["phone"]);
    }

    private static string Line(string text) => JsonSerializer.Serialize(new { text }) + "\n";

    public void Dispose()
    {
        _metadata.Dispose();
        _folder.Dispose();
    }
}
