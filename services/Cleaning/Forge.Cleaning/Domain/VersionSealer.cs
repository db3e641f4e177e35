using Forge.Contracts;
using Forge.Datasets;
using Forge.Storage.Artifacts;
using MassTransit;
using Microsoft.Extensions.Logging;

namespace Forge.Cleaning.Domain;

/// <summary>
/// Seals a dataset version: every clean shard so far, less those of deleted sources, in an immutable manifest.
/// The manifest artifact is written first and the version record inserted last (the commit point); version numbers
/// come from the insert, so two concurrent seals get two numbers.
/// </summary>
public sealed class VersionSealer(CleaningStore store, IArtifactStore artifacts, IPublishEndpoint publisher, TimeProvider clock, ILogger<VersionSealer> logger)
{
    public async Task<DatasetVersion?> SealAsync(string datasetId, double validationFraction, CancellationToken cancellationToken)
    {
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
            };
            if (await store.Versions.GetAsync(versionId, cancellationToken) is not null)
                continue;
            await artifacts.PutBytesAsync(manifestKey, manifest.ToJson(), cancellationToken);
            if (!await store.Versions.TryInsertAsync(version, cancellationToken))
            {
                await artifacts.DeleteAsync(manifestKey, CancellationToken.None);
                continue;
            }
            logger.LogInformation("Sealed {VersionId}: {Documents} documents in {Shards} shards", versionId, manifest.Documents, manifest.Shards.Count);
            await publisher.Publish(new DatasetVersionSealed(datasetId, versionId, number, manifestKey, manifest.Documents, manifest.Bytes, validationFraction, version.SealedAt), cancellationToken);
            return version;
        }
        throw new InvalidOperationException($"Could not claim a version number for dataset '{datasetId}' after 10 attempts.");
    }
}
