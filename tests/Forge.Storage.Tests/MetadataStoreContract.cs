using Forge.Storage.Metadata;

namespace Forge.Storage.Tests;

public enum LeaseState { Free, Held, Done }

public sealed record Lease
{
    public string? Owner { get; init; }
    public DateTime ExpiresAt { get; init; }
}

public sealed record Sample : IDocument
{
    public required string Id { get; init; }
    public string Group { get; init; } = "";
    public string? Slug { get; init; }
    public int Rank { get; init; }
    public long Bytes { get; init; }
    public double Score { get; init; }
    public LeaseState State { get; init; }
    public DateTime CreatedAt { get; init; }
    public DateTime? FinishedAt { get; init; }
    public Lease Lease { get; init; } = new();
    public List<string> Tags { get; init; } = [];
    public Dictionary<string, int> Counts { get; init; } = [];
}

/// <summary>
/// One contract, run against every metadata store implementation this machine can start. Each derived class
/// supplies a fresh, empty store.
/// </summary>
public abstract class MetadataStoreContract
{
    protected abstract Task<IMetadataStore> CreateStoreAsync();

    private async Task<IDocumentCollection<Sample>> SamplesAsync()
    {
        var store = await CreateStoreAsync();
        var samples = store.Collection<Sample>("samples");
        await samples.EnsureIndexAsync(s => s.Slug, unique: true);
        await samples.EnsureIndexAsync(s => s.Group);
        await samples.EnsureIndexAsync(s => s.Lease.Owner);
        return samples;
    }

    private static Sample NewSample(string id, string group = "g", int rank = 0) => new()
    {
        Id = id,
        Group = group,
        Slug = "slug-" + id,
        Rank = rank,
        CreatedAt = new DateTime(2026, 1, 1, 12, 0, 0, DateTimeKind.Utc).AddMinutes(rank),
    };

    [SkippableFact]
    public async Task AnInsertedDocumentReadsBackExactly()
    {
        var samples = await SamplesAsync();
        var original = NewSample("a") with
        {
            Group = "  spaces kept  \n",
            Bytes = 5_000_000_000,
            Score = 0.125,
            State = LeaseState.Held,
            FinishedAt = new DateTime(2026, 2, 3, 4, 5, 6, 789, DateTimeKind.Utc),
            Lease = new Lease { Owner = "trainer-1", ExpiresAt = new DateTime(2026, 2, 3, 4, 6, 0, DateTimeKind.Utc) },
            Tags = ["x", "", "ünïcödé ✓"],
            Counts = new() { ["kept"] = 3, ["dropped"] = 0 },
        };

        Assert.True(await samples.TryInsertAsync(original));
        var read = await samples.GetAsync("a");

        Assert.NotNull(read);
        Assert.Equal(original.Group, read.Group);
        Assert.Equal(original.Bytes, read.Bytes);
        Assert.Equal(original.Score, read.Score);
        Assert.Equal(LeaseState.Held, read.State);
        Assert.Equal(original.CreatedAt, read.CreatedAt);
        Assert.Equal(DateTimeKind.Utc, read.CreatedAt.Kind);
        Assert.Equal(original.FinishedAt, read.FinishedAt);
        Assert.Equal(original.Lease, read.Lease);
        Assert.Equal(original.Tags, read.Tags);
        Assert.Equal(original.Counts, read.Counts);
    }

    [SkippableFact]
    public async Task AnEmptyStringStaysEmptyAndNullStaysNull()
    {
        var samples = await SamplesAsync();
        await samples.UpsertAsync(NewSample("e") with { Group = "", Slug = null });

        var read = await samples.GetAsync("e");

        Assert.Equal("", read!.Group);
        Assert.Null(read.Slug);
    }

    [SkippableFact]
    public async Task InsertingATakenIdStoresNothingAndSaysSo()
    {
        var samples = await SamplesAsync();
        Assert.True(await samples.TryInsertAsync(NewSample("dup", rank: 1)));

        Assert.False(await samples.TryInsertAsync(NewSample("dup", rank: 2) with { Slug = "other" }));

        Assert.Equal(1, (await samples.GetAsync("dup"))!.Rank);
        Assert.Equal(1, await samples.CountAsync(_ => true));
    }

    [SkippableFact]
    public async Task AUniqueIndexRefusesASecondDocumentWithTheSameValue()
    {
        var samples = await SamplesAsync();
        Assert.True(await samples.TryInsertAsync(NewSample("one") with { Slug = "same" }));

        Assert.False(await samples.TryInsertAsync(NewSample("two") with { Slug = "same" }));
        await Assert.ThrowsAsync<DuplicateDocumentException>(() => samples.UpsertAsync(NewSample("three") with { Slug = "same" }));

        Assert.Equal(1, await samples.CountAsync(_ => true));
    }

    [SkippableFact]
    public async Task InsertingManySaysWhichWereStored()
    {
        var samples = await SamplesAsync();
        Assert.True(await samples.TryInsertAsync(NewSample("old") with { Slug = "taken" }));

        var inserted = await samples.TryInsertManyAsync(
        [
            NewSample("m1"),
            NewSample("old", rank: 9),
            NewSample("m2") with { Slug = "taken" },
            NewSample("m3"),
            NewSample("m1", rank: 5),
        ]);

        Assert.Equal([true, false, false, true, false], inserted);
        Assert.Equal(["m1", "m3", "old"], (await samples.FindAsync(_ => true, new() { SortBy = s => s.Id })).Select(s => s.Id));
        Assert.Equal(0, (await samples.GetAsync("m1"))!.Rank);
        Assert.Empty(await samples.TryInsertManyAsync([]));
    }

    [SkippableFact]
    public async Task GetManyReturnsTheDocumentsThatExist()
    {
        var samples = await SamplesAsync();
        await samples.UpsertAsync(NewSample("g1"));
        await samples.UpsertAsync(NewSample("g2"));

        var found = await samples.GetManyAsync(["g2", "missing", "g1"]);

        Assert.Equal(["g1", "g2"], found.Select(s => s.Id).Order());
        Assert.Empty(await samples.GetManyAsync([]));
    }

    [SkippableFact]
    public async Task UpsertReplacesTheDocumentWithTheSameId()
    {
        var samples = await SamplesAsync();
        await samples.UpsertAsync(NewSample("u", rank: 1));
        await samples.UpsertAsync(NewSample("u", rank: 7));

        Assert.Equal(7, (await samples.GetAsync("u"))!.Rank);
        Assert.Equal(1, await samples.CountAsync(s => s.Id == "u"));
    }

    [SkippableFact]
    public async Task ReplaceHappensOnlyWhileThePreconditionHolds()
    {
        var samples = await SamplesAsync();
        await samples.UpsertAsync(NewSample("lease") with { State = LeaseState.Free });

        var claimed = await samples.TryReplaceAsync(NewSample("lease") with { State = LeaseState.Held, Lease = new Lease { Owner = "a" } }, s => s.State == LeaseState.Free);
        var stolen = await samples.TryReplaceAsync(NewSample("lease") with { State = LeaseState.Held, Lease = new Lease { Owner = "b" } }, s => s.State == LeaseState.Free);
        var missing = await samples.TryReplaceAsync(NewSample("nobody"), _ => true);

        Assert.True(claimed);
        Assert.False(stolen);
        Assert.False(missing);
        Assert.Equal("a", (await samples.GetAsync("lease"))!.Lease.Owner);
        Assert.Null(await samples.GetAsync("nobody"));
    }

    [SkippableFact]
    public async Task ConcurrentClaimsOfOneDocumentHaveExactlyOneWinner()
    {
        var samples = await SamplesAsync();
        await samples.UpsertAsync(NewSample("race") with { State = LeaseState.Free });

        var claims = await Task.WhenAll(Enumerable.Range(0, 16).Select(i => Task.Run(() =>
            samples.TryReplaceAsync(NewSample("race") with { State = LeaseState.Held, Lease = new Lease { Owner = $"w{i}" } }, s => s.State == LeaseState.Free))));

        Assert.Equal(1, claims.Count(won => won));
    }

    [SkippableFact]
    public async Task ConcurrentInsertsOfOneIdHaveExactlyOneWinner()
    {
        var samples = await SamplesAsync();

        var inserts = await Task.WhenAll(Enumerable.Range(0, 16).Select(i => Task.Run(() => samples.TryInsertAsync(NewSample("same-id", rank: i)))));

        Assert.Equal(1, inserts.Count(won => won));
        Assert.Equal(1, await samples.CountAsync(_ => true));
    }

    [SkippableFact]
    public async Task FindFiltersSortsAndLimits()
    {
        var samples = await SamplesAsync();
        for (var i = 0; i < 10; i++)
            await samples.UpsertAsync(NewSample($"f{i}", group: i % 2 == 0 ? "even" : "odd", rank: i) with
            {
                State = i < 3 ? LeaseState.Done : LeaseState.Free,
                Lease = new Lease { Owner = i == 4 ? "owner-4" : null },
            });
        var cutoff = new DateTime(2026, 1, 1, 12, 5, 0, DateTimeKind.Utc);

        var evenDescending = await samples.FindAsync(s => s.Group == "even", new() { SortBy = s => s.Rank, Descending = true });
        var firstTwoByTime = await samples.FindAsync(s => s.CreatedAt < cutoff, new() { SortBy = s => s.CreatedAt, Limit = 2 });
        var done = await samples.FindAsync(s => s.State == LeaseState.Done);
        var owned = await samples.FindAsync(s => s.Lease.Owner == "owner-4");
        var byId = await samples.FindAsync(s => s.Rank >= 8, new() { SortBy = s => s.Id });

        Assert.Equal(["f8", "f6", "f4", "f2", "f0"], evenDescending.Select(s => s.Id));
        Assert.Equal(["f0", "f1"], firstTwoByTime.Select(s => s.Id));
        Assert.Equal(["f0", "f1", "f2"], done.Select(s => s.Id).Order());
        Assert.Equal("f4", Assert.Single(owned).Id);
        Assert.Equal(["f8", "f9"], byId.Select(s => s.Id));
        Assert.Equal(5, await samples.CountAsync(s => s.Group == "odd"));
        Assert.Equal("f3", (await samples.FindOneAsync(s => s.Rank == 3))!.Id);
        Assert.Null(await samples.FindOneAsync(s => s.Rank == 99));
    }

    [SkippableFact]
    public async Task FindIdsReturnsOnlyTheMatchingIds()
    {
        var samples = await SamplesAsync();
        for (var i = 0; i < 6; i++)
            await samples.UpsertAsync(NewSample($"i{i}", group: i < 4 ? "in" : "out"));

        var ids = await samples.FindIdsAsync(s => s.Group == "in");

        Assert.Equal(["i0", "i1", "i2", "i3"], ids.Order());
        Assert.Empty(await samples.FindIdsAsync(s => s.Group == "none"));
    }

    [SkippableFact]
    public async Task DeletesReportWhatTheyRemoved()
    {
        var samples = await SamplesAsync();
        for (var i = 0; i < 5; i++)
            await samples.UpsertAsync(NewSample($"d{i}", rank: i));

        Assert.True(await samples.DeleteAsync("d0"));
        Assert.False(await samples.DeleteAsync("d0"));
        Assert.Equal(2, await samples.DeleteManyAsync(s => s.Rank >= 3));
        Assert.Equal(["d1", "d2"], (await samples.FindAsync(_ => true, new() { SortBy = s => s.Id })).Select(s => s.Id));
    }

    [SkippableFact]
    public async Task CollectionsAreSeparate()
    {
        var store = await CreateStoreAsync();
        await store.Collection<Sample>("left").UpsertAsync(NewSample("x"));

        Assert.Null(await store.Collection<Sample>("right").GetAsync("x"));
        Assert.NotNull(await store.Collection<Sample>("left").GetAsync("x"));
    }

    [SkippableFact]
    public async Task TheStoreAnswersAPing()
    {
        var store = await CreateStoreAsync();
        await store.PingAsync();
    }

    [SkippableFact]
    public async Task ADocumentWithoutAnIdIsRefused()
    {
        var samples = await SamplesAsync();
        await Assert.ThrowsAsync<ArgumentException>(() => samples.TryInsertAsync(NewSample("")));
    }
}
