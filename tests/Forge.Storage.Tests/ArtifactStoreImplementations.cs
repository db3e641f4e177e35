using Forge.Storage.Artifacts;
using Forge.Testing;

namespace Forge.Storage.Tests;

public sealed class FileSystemArtifactStoreContract : ArtifactStoreContract, IDisposable
{
    private readonly TemporaryFolder _folder = new("artifacts");
    private int _stores;

    protected override Task<IArtifactStore> CreateStoreAsync() =>
        Task.FromResult<IArtifactStore>(new FileSystemArtifactStore(Path.Combine(_folder.Path, $"{_stores++}")));

    [Fact]
    public async Task AnInterruptedWriteLeavesNoTemporaryFileBehindInListings()
    {
        var store = new FileSystemArtifactStore(_folder.Path);
        File.WriteAllText(Path.Combine(_folder.Path, ".tmp", "crashed.part"), "half a file from a killed process");

        Assert.Empty(await store.ListAsync("").ToListAsync());
    }

    public void Dispose() => _folder.Dispose();
}

/// <summary>The Minio SDK path against a real S3 endpoint (moto_server, started by .ci/run and infra/s3-test-endpoint.sh).</summary>
public sealed class S3ArtifactStoreContract : ArtifactStoreContract, IDisposable
{
    private readonly List<S3ArtifactStore> _stores = [];

    protected override Task<IArtifactStore> CreateStoreAsync()
    {
        var (endpoint, reason) = TestServers.S3();
        Skip.If(endpoint is null, reason);
        var store = new S3ArtifactStore(new S3Options { Endpoint = endpoint!, AccessKey = "test", SecretKey = "test", Bucket = $"forge-test-{Guid.NewGuid():N}"[..40] });
        _stores.Add(store);
        return Task.FromResult<IArtifactStore>(store);
    }

    public void Dispose()
    {
        foreach (var store in _stores)
            store.Dispose();
    }
}
