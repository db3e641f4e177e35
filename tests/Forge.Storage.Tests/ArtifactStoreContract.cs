using System.Security.Cryptography;
using System.Text;
using Forge.Storage.Artifacts;

namespace Forge.Storage.Tests;

/// <summary>One contract, run against every artifact store implementation this machine can start.</summary>
public abstract class ArtifactStoreContract
{
    protected abstract Task<IArtifactStore> CreateStoreAsync();

    [SkippableFact]
    public async Task APutObjectReadsBackByteForByte()
    {
        var store = await CreateStoreAsync();
        var bytes = RandomNumberGenerator.GetBytes(6 * 1024 * 1024 + 123);

        var info = await store.PutBytesAsync("datasets/d1/raw/batch.bin", bytes);

        Assert.Equal(bytes.Length, info.Size);
        Assert.Equal(bytes, await store.ReadAllBytesAsync("datasets/d1/raw/batch.bin"));
        Assert.Equal(bytes.Length, (await store.StatAsync("datasets/d1/raw/batch.bin"))!.Size);
        Assert.True(await store.ExistsAsync("datasets/d1/raw/batch.bin"));
    }

    [SkippableFact]
    public async Task AStreamOfUnknownLengthIsStored()
    {
        var store = await CreateStoreAsync();
        var bytes = RandomNumberGenerator.GetBytes(300_000);

        await store.PutAsync("unknown/length.bin", new ForwardOnlyStream(bytes));

        Assert.Equal(bytes, await store.ReadAllBytesAsync("unknown/length.bin"));
    }

    [SkippableFact]
    public async Task AnEmptyObjectIsAnObject()
    {
        var store = await CreateStoreAsync();

        await store.PutBytesAsync("empty/object", Array.Empty<byte>());

        Assert.Empty(await store.ReadAllBytesAsync("empty/object"));
        Assert.Equal(0, (await store.StatAsync("empty/object"))!.Size);
    }

    [SkippableFact]
    public async Task APutReplacesTheWholeObject()
    {
        var store = await CreateStoreAsync();
        await store.PutBytesAsync("models/v1/weights", Encoding.UTF8.GetBytes("a much longer first version"));

        await store.PutBytesAsync("models/v1/weights", Encoding.UTF8.GetBytes("short"));

        Assert.Equal("short", Encoding.UTF8.GetString(await store.ReadAllBytesAsync("models/v1/weights")));
    }

    [SkippableFact]
    public async Task AFailedPutLeavesNoObjectAndKeepsThePreviousOne()
    {
        var store = await CreateStoreAsync();
        await store.PutBytesAsync("runs/r1/checkpoints/latest", Encoding.UTF8.GetBytes("previous"));

        await Assert.ThrowsAsync<IOException>(() => store.PutAsync("runs/r1/checkpoints/latest", new FailingStream(200_000)));
        await Assert.ThrowsAsync<IOException>(() => store.PutAsync("runs/r1/checkpoints/never", new FailingStream(200_000)));

        Assert.Equal("previous", Encoding.UTF8.GetString(await store.ReadAllBytesAsync("runs/r1/checkpoints/latest")));
        Assert.False(await store.ExistsAsync("runs/r1/checkpoints/never"));
        Assert.Equal(["runs/r1/checkpoints/latest"], await KeysAsync(store, "runs/"));
    }

    [SkippableFact]
    public async Task AMissingObjectIsReportedAsMissing()
    {
        var store = await CreateStoreAsync();

        var error = await Assert.ThrowsAsync<ArtifactNotFoundException>(() => store.OpenReadAsync("no/such/object"));

        Assert.Equal("no/such/object", error.Key);
        Assert.Null(await store.StatAsync("no/such/object"));
        Assert.False(await store.DeleteAsync("no/such/object"));
    }

    [SkippableFact]
    public async Task ListingByPrefixIsOrderedAndExact()
    {
        var store = await CreateStoreAsync();
        foreach (var key in new[] { "datasets/b/raw/2", "datasets/a/raw/1", "datasets/a/clean/1", "datasets/ab/raw/1", "tokenizers/t/tokenizer.json" })
            await store.PutBytesAsync(key, Encoding.UTF8.GetBytes(key));

        Assert.Equal(["datasets/a/clean/1", "datasets/a/raw/1"], await KeysAsync(store, "datasets/a/"));
        Assert.Equal(["datasets/a/clean/1", "datasets/a/raw/1", "datasets/ab/raw/1"], await KeysAsync(store, "datasets/a"));
        Assert.Equal(5, (await KeysAsync(store, "")).Count);
        Assert.Empty(await KeysAsync(store, "nothing/"));
        var listed = await store.ListAsync("tokenizers/").SingleAsync();
        Assert.Equal("tokenizers/t/tokenizer.json".Length, listed.Size);
    }

    [SkippableFact]
    public async Task DeleteRemovesTheObject()
    {
        var store = await CreateStoreAsync();
        await store.PutBytesAsync("tmp/x", new byte[] { 1, 2, 3 });

        Assert.True(await store.DeleteAsync("tmp/x"));

        Assert.False(await store.ExistsAsync("tmp/x"));
        Assert.Empty(await KeysAsync(store, "tmp/"));
    }

    [SkippableTheory]
    [InlineData("")]
    [InlineData("/leading")]
    [InlineData("trailing/")]
    [InlineData("a//b")]
    [InlineData("a/../b")]
    [InlineData("a/./b")]
    [InlineData("back\\slash")]
    [InlineData(".tmp/reserved")]
    public async Task AnInvalidKeyIsRefused(string key)
    {
        var store = await CreateStoreAsync();

        await Assert.ThrowsAsync<ArgumentException>(() => store.PutBytesAsync(key, new byte[] { 1 }));
    }

    [SkippableFact]
    public async Task ReadersDuringAnOverwriteSeeTheOldOrTheNewObjectWhole()
    {
        var store = await CreateStoreAsync();
        var first = Enumerable.Repeat((byte)'a', 512 * 1024).ToArray();
        var second = Enumerable.Repeat((byte)'b', 700 * 1024).ToArray();
        await store.PutBytesAsync("atomic/object", first);

        var writer = Task.Run(async () =>
        {
            for (var i = 0; i < 6; i++)
                await store.PutBytesAsync("atomic/object", i % 2 == 0 ? second : first);
        });
        var seen = new List<byte[]>();
        while (!writer.IsCompleted)
            seen.Add(await store.ReadAllBytesAsync("atomic/object"));
        await writer;

        Assert.All(seen, bytes => Assert.True(bytes.SequenceEqual(first) || bytes.SequenceEqual(second), $"a torn read of {bytes.Length} bytes"));
    }

    [SkippableFact]
    public async Task TheStoreAnswersAPing()
    {
        var store = await CreateStoreAsync();
        await store.PingAsync();
    }

    private static async Task<List<string>> KeysAsync(IArtifactStore store, string prefix) =>
        await store.ListAsync(prefix).Select(i => i.Key).ToListAsync();

    /// <summary>A stream that cannot seek or tell its length, like a request body.</summary>
    private sealed class ForwardOnlyStream(byte[] bytes) : MemoryStream(bytes)
    {
        public override bool CanSeek => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
    }

    /// <summary>Delivers some bytes, then fails, like a client that disconnects mid-upload.</summary>
    private sealed class FailingStream(int bytesBeforeFailure) : Stream
    {
        private int _delivered;
        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => _delivered; set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override int Read(byte[] buffer, int offset, int count)
        {
            if (_delivered >= bytesBeforeFailure)
                throw new IOException("The client went away.");
            var n = Math.Min(count, bytesBeforeFailure - _delivered);
            Array.Fill(buffer, (byte)'x', offset, n);
            _delivered += n;
            return n;
        }
    }
}
