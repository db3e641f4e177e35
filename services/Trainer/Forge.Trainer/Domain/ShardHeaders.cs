using Forge.Storage.Artifacts;
using Forge.Tokenization;

namespace Forge.Trainer.Domain;

/// <summary>Reads token shards' headers from the artifact store, to check shards before a run is queued.</summary>
public static class ShardHeaders
{
    /// <summary>The header of the shard at <paramref name="key"/>, or why it cannot be used (missing, not a shard).</summary>
    public static async Task<(TokenShardHeader? Header, string? Problem)> ReadAsync(IArtifactStore artifacts, string key, CancellationToken cancellationToken)
    {
        try
        {
            ArtifactKey.Validate(key);
            await using var stream = await artifacts.OpenReadAsync(key, cancellationToken);
            var bytes = new byte[TokenShardHeader.Size];
            await stream.ReadExactlyAsync(bytes, cancellationToken);
            return (TokenShardHeader.Read(bytes), null);
        }
        catch (ArtifactNotFoundException)
        {
            return (null, $"There is no token shard '{key}'.");
        }
        catch (Exception e) when (e is InvalidDataException or EndOfStreamException or ArgumentException)
        {
            return (null, $"'{key}' is not a token shard: {e.Message}");
        }
    }
}
