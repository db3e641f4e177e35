using Forge.Model;
using Forge.Storage.Artifacts;

namespace Forge.Trainer.Domain;

/// <summary>
/// Checkpoints in the artifact store under runs/{runId}/checkpoints/step-{n}/: the files first, the manifest last,
/// so a checkpoint without a manifest (a trainer killed while writing) is never loaded. Token shards and the
/// checkpoint to resume from are staged on local disk.
/// </summary>
public sealed class ArtifactCheckpoints(IArtifactStore artifacts, TrainerOptions options)
{
    public static string FolderKey(string runId, long step) => $"runs/{runId}/checkpoints/step-{step:D8}";

    /// <summary>Saves locally, uploads the files, then the manifest; returns the manifest's key.</summary>
    public async Task<string> SaveAsync(string runId, TrainingLoop loop, Func<CancellationToken, Task<bool>> stillLeased, CancellationToken cancellationToken)
    {
        var local = Path.Combine(options.WorkFolder, "runs", runId, $"save-{loop.Step}-{Guid.NewGuid():N}");
        try
        {
            Checkpoint.Save(loop, local);
            var folder = FolderKey(runId, loop.Step);
            foreach (var file in Directory.GetFiles(local).Where(f => Path.GetFileName(f) != Checkpoint.ManifestFile))
            {
                await using var stream = File.OpenRead(file);
                await artifacts.PutAsync($"{folder}/{Path.GetFileName(file)}", stream, cancellationToken);
            }
            // A trainer that lost its lease while uploading must not complete a checkpoint its successor did not write.
            if (!await stillLeased(cancellationToken))
                throw new LeaseLostException(runId);
            await using (var manifest = File.OpenRead(Path.Combine(local, Checkpoint.ManifestFile)))
                await artifacts.PutAsync($"{folder}/{Checkpoint.ManifestFile}", manifest, cancellationToken);
            return $"{folder}/{Checkpoint.ManifestFile}";
        }
        finally
        {
            Directory.Delete(local, recursive: true);
        }
    }

    /// <summary>Downloads a complete checkpoint into a local folder and returns it.</summary>
    public Task<string> StageAsync(string runId, string manifestKey, CancellationToken cancellationToken) =>
        artifacts.StageFolderAsync(manifestKey[..manifestKey.LastIndexOf('/')], Path.Combine(options.WorkFolder, "runs", runId), cancellationToken);

    public async Task DeleteAsync(string manifestKey, CancellationToken cancellationToken)
    {
        var folderKey = manifestKey[..manifestKey.LastIndexOf('/')];
        // The manifest goes first, so a half-deleted checkpoint is an incomplete one, never a corrupt complete one.
        await artifacts.DeleteAsync(manifestKey, cancellationToken);
        await foreach (var file in artifacts.ListAsync(folderKey + "/", cancellationToken))
            await artifacts.DeleteAsync(file.Key, cancellationToken);
    }

    /// <summary>Copies token shards to local disk once (by key), for memory mapping.</summary>
    public Task<string[]> StageShardsAsync(IEnumerable<string> keys, CancellationToken cancellationToken) =>
        artifacts.StageFilesAsync(keys, Path.Combine(options.WorkFolder, "shards"), cancellationToken);
}

public sealed class LeaseLostException(string runId) : Exception($"This trainer no longer holds the lease of run {runId}.");
