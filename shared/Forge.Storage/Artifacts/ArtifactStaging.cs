using System.Security.Cryptography;
using System.Text;

namespace Forge.Storage.Artifacts;

/// <summary>Copies artifacts to local disk, for code that needs files: memory-mapped token shards, checkpoint folders.</summary>
public static class ArtifactStaging
{
    /// <summary>Downloads every object under <paramref name="folderKey"/>/ into a new folder under <paramref name="workFolder"/> and returns it.</summary>
    public static async Task<string> StageFolderAsync(this IArtifactStore artifacts, string folderKey, string workFolder, CancellationToken cancellationToken)
    {
        var local = Path.Combine(workFolder, $"stage-{Guid.NewGuid():N}");
        Directory.CreateDirectory(local);
        await foreach (var file in artifacts.ListAsync(folderKey + "/", cancellationToken))
        {
            var relative = file.Key[(folderKey.Length + 1)..];
            var target = Path.Combine(local, relative.Replace('/', Path.DirectorySeparatorChar));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            await using var source = await artifacts.OpenReadAsync(file.Key, cancellationToken);
            await using var output = File.Create(target);
            await source.CopyToAsync(output, cancellationToken);
        }
        return local;
    }

    /// <summary>
    /// Downloads each object once into <paramref name="cacheFolder"/> (named by a hash of its key; written to a temporary
    /// name and renamed, so a reader never sees half a file) and returns the local paths in order.
    /// </summary>
    public static async Task<string[]> StageFilesAsync(this IArtifactStore artifacts, IEnumerable<string> keys, string cacheFolder, CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(cacheFolder);
        var paths = new List<string>();
        foreach (var key in keys)
        {
            var path = Path.Combine(cacheFolder, Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(key)))[..32] + Path.GetExtension(key));
            if (!File.Exists(path))
            {
                var temp = $"{path}.{Guid.NewGuid():N}.part";
                await using (var source = await artifacts.OpenReadAsync(key, cancellationToken))
                await using (var target = File.Create(temp))
                    await source.CopyToAsync(target, cancellationToken);
                File.Move(temp, path, overwrite: true);
            }
            paths.Add(path);
        }
        return [.. paths];
    }
}
