using System.Security.Cryptography;
using System.Text;
using Forge.Storage.Metadata;

namespace Forge.ServiceDefaults.Security;

/// <summary>What a key may do. <see cref="Admin"/> may do everything, including managing keys.</summary>
public static class ApiKeyScopes
{
    /// <summary>Read anything; generate, chat and give feedback (using a model).</summary>
    public const string Read = "read";
    /// <summary>Send data: ingestion and cleaning settings.</summary>
    public const string Ingest = "ingest";
    /// <summary>Make models: tokenizers, training runs, evaluations, the registry, builds.</summary>
    public const string Train = "train";
    public const string Admin = "admin";

    public static readonly IReadOnlyList<string> All = [Read, Ingest, Train, Admin];
}

/// <summary>
/// An API key as stored: only the SHA-256 of its secret is kept, so the store never holds a usable key. The key a
/// client sends is <c>fk_{Id}_{secret}</c>.
/// </summary>
public sealed record ApiKeyRecord : IDocument
{
    public required string Id { get; init; }
    public required string Name { get; init; }
    public required string SecretSha256 { get; init; }
    public List<string> Scopes { get; init; } = [];
    public DateTime CreatedAt { get; init; }
    public string? CreatedBy { get; init; }
    public DateTime? RevokedAt { get; init; }

    public bool Allows(string scope) => RevokedAt is null && (Scopes.Contains(ApiKeyScopes.Admin) || Scopes.Contains(scope));
}

/// <summary>Creates, revokes and checks API keys (the collection <c>gateway_api_keys</c>).</summary>
public sealed class ApiKeyService(IMetadataStore store, TimeProvider clock)
{
    private const string Prefix = "fk_";
    private readonly IDocumentCollection<ApiKeyRecord> _keys = store.Collection<ApiKeyRecord>("gateway_api_keys");

    /// <summary>A new key with these scopes; the returned plaintext is the only copy of the secret.</summary>
    public async Task<(ApiKeyRecord Record, string Key)> CreateAsync(string name, IReadOnlyCollection<string> scopes, string? createdBy, CancellationToken cancellationToken)
    {
        if (scopes.Count == 0 || scopes.Any(s => !ApiKeyScopes.All.Contains(s)))
            throw new ArgumentException($"Scopes must be among {string.Join(", ", ApiKeyScopes.All)}.", nameof(scopes));
        var id = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8));
        var secret = Convert.ToBase64String(RandomNumberGenerator.GetBytes(24)).Replace('+', 'A').Replace('/', 'B').TrimEnd('=');
        var record = new ApiKeyRecord
        {
            Id = id,
            Name = name,
            SecretSha256 = Hash(secret),
            Scopes = [.. scopes.Distinct(StringComparer.Ordinal)],
            CreatedAt = clock.GetUtcNow().UtcDateTime,
            CreatedBy = createdBy,
        };
        await _keys.TryInsertAsync(record, cancellationToken);
        return (record, $"{Prefix}{id}_{secret}");
    }

    public async Task<bool> RevokeAsync(string id, CancellationToken cancellationToken)
    {
        if (await _keys.GetAsync(id, cancellationToken) is not { RevokedAt: null } key)
            return false;
        await _keys.UpsertAsync(key with { RevokedAt = clock.GetUtcNow().UtcDateTime }, cancellationToken);
        return true;
    }

    public Task<IReadOnlyList<ApiKeyRecord>> ListAsync(CancellationToken cancellationToken) =>
        _keys.FindAsync(_ => true, new() { SortBy = k => k.CreatedAt }, cancellationToken);

    public async Task<bool> AnyAsync(CancellationToken cancellationToken) => await _keys.CountAsync(_ => true, cancellationToken) > 0;

    /// <summary>The live key a client presented, or null when it is malformed, unknown, revoked or its secret is wrong.</summary>
    public async Task<ApiKeyRecord?> AuthenticateAsync(string presented, CancellationToken cancellationToken)
    {
        if (!presented.StartsWith(Prefix, StringComparison.Ordinal) || presented.Length > 200)
            return null;
        var separator = presented.IndexOf('_', Prefix.Length);
        if (separator < 0)
            return null;
        var id = presented[Prefix.Length..separator];
        var secret = presented[(separator + 1)..];
        if (await _keys.GetAsync(id, cancellationToken) is not { RevokedAt: null } key)
            return null;
        return CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(Hash(secret)), Encoding.ASCII.GetBytes(key.SecretSha256)) ? key : null;
    }

    private static string Hash(string secret) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(secret)));
}
