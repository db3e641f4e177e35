using System.Linq.Expressions;
using Forge.Storage.Metadata;

namespace Forge.Services.Tests;

/// <summary>
/// A metadata store whose inserts and replacements in one collection take <paramref name="delay"/> longer, as a
/// slower server or a busier replica would: it widens the moment between a replica's read and its write, so races
/// between replicas that a fast local store hides show up.
/// </summary>
public sealed class SlowWritesMetadataStore(IMetadataStore inner, string slowCollection, TimeSpan delay) : IMetadataStore
{
    public IDocumentCollection<T> Collection<T>(string name) where T : class, IDocument =>
        name == slowCollection ? new SlowCollection<T>(inner.Collection<T>(name), delay) : inner.Collection<T>(name);

    public Task PingAsync(CancellationToken cancellationToken = default) => inner.PingAsync(cancellationToken);

    private sealed class SlowCollection<T>(IDocumentCollection<T> inner, TimeSpan delay) : IDocumentCollection<T> where T : class, IDocument
    {
        public async Task<bool> TryInsertAsync(T document, CancellationToken cancellationToken = default)
        {
            await Task.Delay(delay, cancellationToken);
            return await inner.TryInsertAsync(document, cancellationToken);
        }

        public async Task<IReadOnlyList<bool>> TryInsertManyAsync(IReadOnlyList<T> documents, CancellationToken cancellationToken = default)
        {
            await Task.Delay(delay, cancellationToken);
            return await inner.TryInsertManyAsync(documents, cancellationToken);
        }

        public async Task UpsertAsync(T document, CancellationToken cancellationToken = default)
        {
            await Task.Delay(delay, cancellationToken);
            await inner.UpsertAsync(document, cancellationToken);
        }

        public async Task<bool> TryReplaceAsync(T document, Expression<Func<T, bool>> precondition, CancellationToken cancellationToken = default)
        {
            await Task.Delay(delay, cancellationToken);
            return await inner.TryReplaceAsync(document, precondition, cancellationToken);
        }

        public Task<T?> GetAsync(string id, CancellationToken cancellationToken = default) => inner.GetAsync(id, cancellationToken);

        public Task<IReadOnlyList<T>> GetManyAsync(IReadOnlyCollection<string> ids, CancellationToken cancellationToken = default) => inner.GetManyAsync(ids, cancellationToken);

        public Task<IReadOnlyList<T>> FindAsync(Expression<Func<T, bool>> filter, FindOptions<T>? options = null, CancellationToken cancellationToken = default) =>
            inner.FindAsync(filter, options, cancellationToken);

        public Task<IReadOnlyList<string>> FindIdsAsync(Expression<Func<T, bool>> filter, CancellationToken cancellationToken = default) => inner.FindIdsAsync(filter, cancellationToken);

        public Task<long> CountAsync(Expression<Func<T, bool>> filter, CancellationToken cancellationToken = default) => inner.CountAsync(filter, cancellationToken);

        public Task<bool> DeleteAsync(string id, CancellationToken cancellationToken = default) => inner.DeleteAsync(id, cancellationToken);

        public Task<long> DeleteManyAsync(Expression<Func<T, bool>> filter, CancellationToken cancellationToken = default) => inner.DeleteManyAsync(filter, cancellationToken);

        public Task EnsureIndexAsync(Expression<Func<T, object?>> property, bool unique = false, CancellationToken cancellationToken = default) =>
            inner.EnsureIndexAsync(property, unique, cancellationToken);
    }
}
