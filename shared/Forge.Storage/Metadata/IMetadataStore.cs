using System.Linq.Expressions;

namespace Forge.Storage.Metadata;

/// <summary>Every stored document has a string id, which is unique within its collection.</summary>
public interface IDocument
{
    string Id { get; }
}

/// <summary>
/// Document storage for metadata (datasets, batches, runs, models...). Two implementations honour one
/// contract: <see cref="LiteDbMetadataStore"/> (embedded file) and <see cref="MongoMetadataStore"/>.
/// </summary>
public interface IMetadataStore
{
    IDocumentCollection<T> Collection<T>(string name) where T : class, IDocument;

    /// <summary>Checks that the store can be reached (readiness).</summary>
    Task PingAsync(CancellationToken cancellationToken = default);
}

public interface IDocumentCollection<T> where T : class, IDocument
{
    /// <summary>
    /// Inserts the document. Returns false, storing nothing, when its id or a unique index value is taken:
    /// this is how consumers stay idempotent under redelivery.
    /// </summary>
    Task<bool> TryInsertAsync(T document, CancellationToken cancellationToken = default);

    /// <summary>
    /// Inserts many documents in one round trip; element i of the result says whether document i was stored
    /// (false: its id or a unique value was taken, by an earlier document in the store or in this same call).
    /// </summary>
    Task<IReadOnlyList<bool>> TryInsertManyAsync(IReadOnlyList<T> documents, CancellationToken cancellationToken = default);

    /// <summary>Inserts or replaces the document with the same id.</summary>
    /// <exception cref="DuplicateDocumentException">another document holds one of its unique index values.</exception>
    Task UpsertAsync(T document, CancellationToken cancellationToken = default);

    /// <summary>
    /// Replaces the stored document with the same id only while the stored one matches <paramref name="precondition"/>
    /// (compare-and-swap, e.g. for leases). Returns false when there is no such document or it does not match.
    /// </summary>
    Task<bool> TryReplaceAsync(T document, Expression<Func<T, bool>> precondition, CancellationToken cancellationToken = default);

    Task<T?> GetAsync(string id, CancellationToken cancellationToken = default);

    /// <summary>The documents with these ids that exist, in no particular order.</summary>
    Task<IReadOnlyList<T>> GetManyAsync(IReadOnlyCollection<string> ids, CancellationToken cancellationToken = default);

    Task<IReadOnlyList<T>> FindAsync(Expression<Func<T, bool>> filter, FindOptions<T>? options = null, CancellationToken cancellationToken = default);

    /// <summary>The ids of the matching documents, without reading the documents themselves.</summary>
    Task<IReadOnlyList<string>> FindIdsAsync(Expression<Func<T, bool>> filter, CancellationToken cancellationToken = default);

    Task<long> CountAsync(Expression<Func<T, bool>> filter, CancellationToken cancellationToken = default);

    Task<bool> DeleteAsync(string id, CancellationToken cancellationToken = default);

    Task<long> DeleteManyAsync(Expression<Func<T, bool>> filter, CancellationToken cancellationToken = default);

    /// <summary>Creates an index on a (possibly nested) property if it does not exist yet.</summary>
    Task EnsureIndexAsync(Expression<Func<T, object?>> property, bool unique = false, CancellationToken cancellationToken = default);
}

public sealed record FindOptions<T>
{
    public Expression<Func<T, object?>>? SortBy { get; init; }
    public bool Descending { get; init; }
    public int? Limit { get; init; }
}

public sealed class DuplicateDocumentException(string collection, Exception inner)
    : Exception($"A document in '{collection}' already holds one of these unique values.", inner);

public static class DocumentCollectionExtensions
{
    public static async Task<T?> FindOneAsync<T>(this IDocumentCollection<T> collection, Expression<Func<T, bool>> filter, CancellationToken cancellationToken = default)
        where T : class, IDocument =>
        (await collection.FindAsync(filter, new FindOptions<T> { Limit = 1 }, cancellationToken).ConfigureAwait(false)) is [var first, ..] ? first : null;
}
