using System.Runtime.CompilerServices;

namespace Forge.Storage.Artifacts;

/// <summary>
/// Artifacts as files under a root folder. A put writes a temporary file in the same file system, flushes it
/// to disk, then renames it over the key, so a reader sees the old object or the new one and never a torn one.
/// </summary>
public sealed class FileSystemArtifactStore : IArtifactStore
{
    private const string TempFolderName = ".tmp";
    private readonly string _root;
    private readonly string _tempFolder;

    public FileSystemArtifactStore(string root)
    {
        _root = Path.GetFullPath(root);
        _tempFolder = Path.Combine(_root, TempFolderName);
        Directory.CreateDirectory(_tempFolder);
    }

    public string Root => _root;

    public async Task<ArtifactInfo> PutAsync(string key, Stream content, CancellationToken cancellationToken = default)
    {
        var target = PathFor(key);
        var temp = Path.Combine(_tempFolder, $"{Guid.NewGuid():N}.part");
        try
        {
            await using (var file = new FileStream(temp, new FileStreamOptions
            {
                Mode = FileMode.CreateNew,
                Access = FileAccess.Write,
                Options = FileOptions.Asynchronous,
                BufferSize = 1 << 16,
            }))
            {
                await content.CopyToAsync(file, 1 << 16, cancellationToken).ConfigureAwait(false);
                await file.FlushAsync(cancellationToken).ConfigureAwait(false);
                file.Flush(flushToDisk: true);
            }
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Move(temp, target, overwrite: true);
        }
        catch
        {
            TryDelete(temp);
            throw;
        }
        var info = new FileInfo(target);
        return new ArtifactInfo(key, info.Length, info.LastWriteTimeUtc);
    }

    public Task<Stream> OpenReadAsync(string key, CancellationToken cancellationToken = default)
    {
        var path = PathFor(key);
        try
        {
            Stream stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read | FileShare.Delete, 1 << 16, FileOptions.Asynchronous | FileOptions.SequentialScan);
            return Task.FromResult(stream);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new ArtifactNotFoundException(key);
        }
    }

    public Task<ArtifactInfo?> StatAsync(string key, CancellationToken cancellationToken = default)
    {
        var info = new FileInfo(PathFor(key));
        return Task.FromResult(info.Exists ? new ArtifactInfo(key, info.Length, info.LastWriteTimeUtc) : null);
    }

    public async IAsyncEnumerable<ArtifactInfo> ListAsync(string prefix, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArtifactKey.ValidatePrefix(prefix);
        // Walk only the deepest folder the prefix fully names, then filter by the rest of the prefix.
        var lastSlash = prefix.LastIndexOf('/');
        var folder = lastSlash < 0 ? _root : Path.Combine(_root, prefix[..lastSlash]);
        if (!Directory.Exists(folder))
            yield break;
        var keys = Directory.EnumerateFiles(folder, "*", SearchOption.AllDirectories)
            .Select(path => Path.GetRelativePath(_root, path).Replace(Path.DirectorySeparatorChar, '/'))
            .Where(key => key.StartsWith(prefix, StringComparison.Ordinal) && !key.StartsWith(TempFolderName + "/", StringComparison.Ordinal))
            .Order(StringComparer.Ordinal);
        foreach (var key in keys)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var info = new FileInfo(Path.Combine(_root, key));
            if (info.Exists)
                yield return new ArtifactInfo(key, info.Length, info.LastWriteTimeUtc);
        }
        await Task.CompletedTask.ConfigureAwait(false);
    }

    public Task<bool> DeleteAsync(string key, CancellationToken cancellationToken = default)
    {
        var path = PathFor(key);
        if (!File.Exists(path))
            return Task.FromResult(false);
        File.Delete(path);
        return Task.FromResult(true);
    }

    public Task PingAsync(CancellationToken cancellationToken = default)
    {
        if (!Directory.Exists(_tempFolder))
            throw new IOException($"Artifact folder '{_root}' is not available.");
        return Task.CompletedTask;
    }

    private string PathFor(string key)
    {
        ArtifactKey.Validate(key);
        return Path.Combine(_root, key.Replace('/', Path.DirectorySeparatorChar));
    }

    private static void TryDelete(string path)
    {
        try { File.Delete(path); }
        catch (IOException) { }
    }
}
