namespace Forge.Storage.Artifacts;

/// <summary>
/// Stores immutable-by-convention blobs under slash-separated keys (see ARCHITECTURE.md for the key layout).
/// An object becomes visible only once it is completely written: readers never see a partial object.
/// </summary>
public interface IArtifactStore
{
    /// <summary>Writes <paramref name="content"/> under <paramref name="key"/>, replacing any previous object atomically.</summary>
    Task<ArtifactInfo> PutAsync(string key, Stream content, CancellationToken cancellationToken = default);

    /// <summary>Opens the object for reading; throws <see cref="ArtifactNotFoundException"/> when it does not exist.</summary>
    Task<Stream> OpenReadAsync(string key, CancellationToken cancellationToken = default);

    Task<ArtifactInfo?> StatAsync(string key, CancellationToken cancellationToken = default);

    /// <summary>Lists the objects whose key starts with <paramref name="prefix"/>, in ordinal key order.</summary>
    IAsyncEnumerable<ArtifactInfo> ListAsync(string prefix, CancellationToken cancellationToken = default);

    /// <summary>Deletes the object; returns false when there was none.</summary>
    Task<bool> DeleteAsync(string key, CancellationToken cancellationToken = default);

    /// <summary>Checks that the store can be reached (readiness).</summary>
    Task PingAsync(CancellationToken cancellationToken = default);
}

public sealed record ArtifactInfo(string Key, long Size, DateTime LastModifiedUtc);

public sealed class ArtifactNotFoundException(string key)
    : Exception($"Artifact '{key}' does not exist.")
{
    public string Key { get; } = key;
}

public static class ArtifactStoreExtensions
{
    public static async Task<bool> ExistsAsync(this IArtifactStore store, string key, CancellationToken cancellationToken = default) =>
        await store.StatAsync(key, cancellationToken).ConfigureAwait(false) is not null;

    public static async Task<ArtifactInfo> PutBytesAsync(this IArtifactStore store, string key, ReadOnlyMemory<byte> bytes, CancellationToken cancellationToken = default)
    {
        using var stream = new MemoryStream(bytes.ToArray(), writable: false);
        return await store.PutAsync(key, stream, cancellationToken).ConfigureAwait(false);
    }

    public static async Task<byte[]> ReadAllBytesAsync(this IArtifactStore store, string key, CancellationToken cancellationToken = default)
    {
        await using var stream = await store.OpenReadAsync(key, cancellationToken).ConfigureAwait(false);
        using var buffer = new MemoryStream();
        await stream.CopyToAsync(buffer, cancellationToken).ConfigureAwait(false);
        return buffer.ToArray();
    }
}
