using Forge.Inference.Domain;
using Forge.Storage.Artifacts;
using Forge.Testing;
using Microsoft.Extensions.Logging.Abstractions;

namespace Forge.Evaluator.Tests;

/// <summary>
/// The inference service's cache of loaded model versions: least recently used ones are unloaded beyond its size,
/// never one a request still holds, and concurrent requests for a version not yet loaded share one load.
/// </summary>
public sealed class ModelCacheTests : IAsyncLifetime
{
    private readonly TemporaryFolder _folder = new("model-cache");
    private FileSystemArtifactStore _artifacts = null!;
    private readonly List<ServedVersion> _versions = [];

    public async Task InitializeAsync()
    {
        _artifacts = new FileSystemArtifactStore(Path.Combine(_folder.Path, "artifacts"));
        await TinyModel.UploadTokenizerAsync(_artifacts, "letters");
        foreach (var number in new[] { 1, 2, 3 })
        {
            var checkpoint = await TinyModel.UploadAsync(_artifacts, $"runs/cached-{number}/checkpoints/step-1");
            _versions.Add(new ServedVersion { Id = $"cached@{number}", Model = "cached", CheckpointKey = checkpoint, TokenizerId = "letters" });
        }
    }

    private ModelCache NewCache(int size) =>
        new(_artifacts, new InferenceOptions { CachedModels = size, WorkFolder = Path.Combine(_folder.Path, "work") }, NullLogger<ModelCache>.Instance);

    [Fact]
    public async Task TheLeastRecentlyUsedVersionIsUnloadedBeyondTheCachesSize()
    {
        using var cache = NewCache(size: 2);

        using (await cache.AcquireAsync(_versions[0], CancellationToken.None)) { }
        using (await cache.AcquireAsync(_versions[1], CancellationToken.None)) { }
        using (await cache.AcquireAsync(_versions[0], CancellationToken.None)) { } // @1 is now the more recent
        using (var third = await cache.AcquireAsync(_versions[2], CancellationToken.None))
        {
            Assert.Equal(["cached@3", "cached@1"], cache.Loaded);
            Assert.Equal(16, third.Model.Tokenizer.VocabularySize);
        }
    }

    [Fact]
    public async Task AVersionARequestStillHoldsIsNotDisposedWhenEvicted()
    {
        using var cache = NewCache(size: 1);
        var held = await cache.AcquireAsync(_versions[0], CancellationToken.None);

        using (await cache.AcquireAsync(_versions[1], CancellationToken.None))
        {
            Assert.Equal(["cached@2"], cache.Loaded);
            // Evicted but still held: the running request can go on using it.
            using var input = TorchSharp.torch.tensor(new long[] { 1, 2, 3 }, [1, 3]);
            using var logits = held.Model.Network.call(input);
            Assert.Equal([1L, 3, 16], logits.shape);
        }
        held.Dispose();
        // Once the last lease ends, a request for it loads it again.
        using var again = await cache.AcquireAsync(_versions[0], CancellationToken.None);
        Assert.NotSame(held.Model, again.Model);
    }

    [Fact]
    public async Task ConcurrentRequestsForAVersionNotYetLoadedShareOneLoad()
    {
        using var cache = NewCache(size: 2);

        var leases = await Task.WhenAll(Enumerable.Range(0, 6).Select(_ => Task.Run(() => cache.AcquireAsync(_versions[0], CancellationToken.None))));

        Assert.Single(leases.Select(l => l.Model).Distinct());
        Assert.Equal(["cached@1"], cache.Loaded);
        foreach (var lease in leases)
            lease.Dispose();
    }

    public Task DisposeAsync()
    {
        _folder.Dispose();
        return Task.CompletedTask;
    }
}
