using Forge.Contracts;
using Forge.Datasets;
using Forge.Storage.Artifacts;
using MassTransit;
using Microsoft.Extensions.Logging;

namespace Forge.Cleaning.Domain;

/// <summary>
/// Seals a dataset version: every clean shard so far, less those of deleted sources, in an immutable manifest.
/// The manifest artifact is written first and the version record inserted last (the commit point); version numbers
/// come from the insert, so two concurrent seals get two numbers. A build's seal happens once: the version records
/// the build, and sealing for the same build again announces the version sealed for it before.
/// </summary>
public sealed class VersionSealer(CleaningStore store, IArtifactStore artifacts, IPublishEndpoint publisher, TimeProvider clock, ILogger<VersionSealer> logger)
{
    /// <summary>What is wrong with a validation fraction, or null when it can be used.</summary>
    public static string? ValidationFractionProblem(double fraction) =>
        fraction is < 0 or >= 1 || double.IsNaN(fraction) ? "must be at least 0 and below 1" : null;

    public static DatasetVersionSealed Announcement(DatasetVersion version) =>
        new(version.DatasetId, version.Id, version.Number, version.ManifestKey, version.Documents, version.Bytes, version.ValidationFraction, version.SealedAt);

    /// <summary>
    /// Seals a version and publishes DatasetVersionSealed for the version it returns; null when the dataset has no clean
    /// shard. With a build id, a version already sealed for that build is returned (and announced again) instead.
    /// </summary>
    public async Task<DatasetVersion?> SealAsync(string datasetId, double validationFraction, string? buildId, CancellationToken cancellationToken)
    {
        if (buildId is not null && await SealedForBuildAsync(datasetId, buildId, cancellationToken) is { } existing)
        {
            logger.LogInformation("{VersionId} was sealed for build {BuildId} before; announcing it again", existing.Id, buildId);
            await publisher.Publish(Announcement(existing), cancellationToken);
            return existing;
        }
        var shards = await store.Shards.FindAsync(s => s.DatasetId == datasetId, new() { SortBy = s => s.CleanedAt }, cancellationToken);
        if (shards.Count == 0)
            return null;
        var excluded = (await store.ExcludedSources.FindAsync(s => s.DatasetId == datasetId, cancellationToken: cancellationToken)).Select(s => s.Id).ToHashSet();
        var included = shards.Where(s => !excluded.Contains(s.SourceId)).OrderBy(s => s.Id, StringComparer.Ordinal).ToList();
        var dropped = new Dictionary<string, long>();
        foreach (var (reason, count) in included.SelectMany(s => s.Dropped))
            dropped[reason] = dropped.GetValueOrDefault(reason) + count;

        for (var attempt = 0; attempt < 10; attempt++)
        {
            var number = (int)await store.Versions.CountAsync(v => v.DatasetId == datasetId, cancellationToken) + 1 + attempt;
            var versionId = $"{datasetId}@{number}";
            var manifest = new DatasetManifest
            {
                DatasetId = datasetId,
                VersionId = versionId,
                Number = number,
                SealedAt = clock.GetUtcNow().UtcDateTime,
                Split = new DatasetSplit(validationFraction),
                Shards = included.Select(s => new ManifestShard(s.Id, s.SourceId, s.ShardKey, s.DocumentsOut, s.BytesOut)).ToList(),
                Documents = included.Sum(s => (long)s.DocumentsOut),
                Bytes = included.Sum(s => s.BytesOut),
                Dropped = dropped,
                Sources = included.Select(s => s.SourceId).Distinct().Order(StringComparer.Ordinal).ToList(),
                ExcludedSources = excluded.Order(StringComparer.Ordinal).ToList(),
            };
            // A per-attempt key: a concurrent seal that loses the number cannot overwrite the winner's manifest.
            var manifestKey = $"datasets/{datasetId}/versions/{number}/manifest-{Guid.NewGuid():N}.json";
            var version = new DatasetVersion
            {
                Id = versionId,
                DatasetId = datasetId,
                Number = number,
                ManifestKey = manifestKey,
                Documents = manifest.Documents,
                Bytes = manifest.Bytes,
                ValidationFraction = validationFraction,
                Sources = [.. manifest.Sources],
                ExcludedSources = [.. manifest.ExcludedSources],
                SealedAt = manifest.SealedAt,
                BuildId = buildId,
            };
            if (await store.Versions.GetAsync(versionId, cancellationToken) is not null)
                continue;
            await artifacts.PutBytesAsync(manifestKey, manifest.ToJson(), cancellationToken);
            if (!await store.Versions.TryInsertAsync(version, cancellationToken))
            {
                await artifacts.DeleteAsync(manifestKey, CancellationToken.None);
                continue;
            }
            if (buildId is not null && await SealedForBuildAsync(datasetId, buildId, CancellationToken.None) is { } first && first.Id != versionId)
            {
                // A concurrent delivery of the same build's command sealed first: withdraw this one before anyone hears of it.
                await store.Versions.DeleteAsync(versionId, CancellationToken.None);
                await artifacts.DeleteAsync(manifestKey, CancellationToken.None);
                version = first;
            }
            else
            {
                logger.LogInformation("Sealed {VersionId}: {Documents} documents in {Shards} shards", versionId, manifest.Documents, manifest.Shards.Count);
            }
            await publisher.Publish(Announcement(version), cancellationToken);
            return version;
        }
        throw new InvalidOperationException($"Could not claim a version number for dataset '{datasetId}' after 10 attempts.");
    }

    /// <summary>The version sealed for a build: the first, should two concurrent deliveries have sealed one each.</summary>
    private async Task<DatasetVersion?> SealedForBuildAsync(string datasetId, string buildId, CancellationToken cancellationToken) =>
        await store.Versions.FindAsync(v => v.DatasetId == datasetId && v.BuildId == buildId, new() { SortBy = v => v.Number, Limit = 1 }, cancellationToken) is [var first, ..] ? first : null;
}
