using Forge.Storage.Metadata;
using Forge.Testing;

namespace Forge.Storage.Tests;

public sealed class LiteDbMetadataStoreContract : MetadataStoreContract, IDisposable
{
    private readonly TemporaryFolder _folder = new("litedb");
    private readonly List<LiteDbMetadataStore> _stores = [];

    protected override Task<IMetadataStore> CreateStoreAsync()
    {
        var store = new LiteDbMetadataStore(Path.Combine(_folder.Path, $"{_stores.Count}.db"));
        _stores.Add(store);
        return Task.FromResult<IMetadataStore>(store);
    }

    [Fact]
    public async Task DocumentsSurviveReopeningTheFile()
    {
        var path = Path.Combine(_folder.Path, "reopen.db");
        using (var first = new LiteDbMetadataStore(path))
            Assert.True(await first.Collection<Sample>("samples").TryInsertAsync(new Sample { Id = "kept", Rank = 3 }));

        using var second = new LiteDbMetadataStore(path);
        Assert.Equal(3, (await second.Collection<Sample>("samples").GetAsync("kept"))!.Rank);
    }

    public void Dispose()
    {
        foreach (var store in _stores)
            store.Dispose();
        _folder.Dispose();
    }
}

/// <summary>The embedded store in shared mode, as several processes on one machine use it.</summary>
public sealed class SharedLiteDbMetadataStoreContract : MetadataStoreContract, IDisposable
{
    private readonly TemporaryFolder _folder = new("litedb-shared");
    private readonly List<LiteDbMetadataStore> _stores = [];

    protected override Task<IMetadataStore> CreateStoreAsync()
    {
        var store = new LiteDbMetadataStore(Path.Combine(_folder.Path, $"{_stores.Count}.db"), shared: true);
        _stores.Add(store);
        return Task.FromResult<IMetadataStore>(store);
    }

    [Fact]
    public async Task ClaimsThroughTwoOpenersOfOneFileHaveExactlyOneWinner()
    {
        var path = Path.Combine(_folder.Path, "two-openers.db");
        using var first = new LiteDbMetadataStore(path, shared: true);
        using var second = new LiteDbMetadataStore(path, shared: true);
        await first.Collection<Sample>("leases").UpsertAsync(new Sample { Id = "run", State = LeaseState.Free });

        var claims = await Task.WhenAll(Enumerable.Range(0, 12).Select(i => Task.Run(() =>
            (i % 2 == 0 ? first : second).Collection<Sample>("leases")
                .TryReplaceAsync(new Sample { Id = "run", State = LeaseState.Held, Lease = new Lease { Owner = $"w{i}" } }, s => s.State == LeaseState.Free))));

        Assert.Equal(1, claims.Count(won => won));
    }

    public void Dispose()
    {
        foreach (var store in _stores)
            store.Dispose();
        _folder.Dispose();
    }
}

public sealed class MongoMetadataStoreContract : MetadataStoreContract, IAsyncLifetime
{
    private readonly List<MongoMetadataStore> _stores = [];

    protected override Task<IMetadataStore> CreateStoreAsync()
    {
        var (connection, reason) = TestServers.MongoDb();
        Skip.If(connection is null, reason);
        var store = new MongoMetadataStore(new MongoOptions { ConnectionString = connection!, Database = $"forge-test-{Guid.NewGuid():N}" });
        _stores.Add(store);
        return Task.FromResult<IMetadataStore>(store);
    }

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (var store in _stores)
            await store.DropDatabaseAsync();
    }
}
