using System.Linq.Expressions;
using LiteDB;

namespace Forge.Storage.Metadata;

/// <summary>
/// The embedded metadata store: one LiteDB file. LiteDB serialises its own operations; a store-wide gate
/// additionally makes compare-and-swap and insert-if-absent atomic across threads of this process.
/// </summary>
public sealed class LiteDbMetadataStore : IMetadataStore, IDisposable
{
    private readonly LiteDatabase _database;
    private readonly Lock _gate = new();
    private readonly string? _crossProcessLock;

    /// <param name="shared">Open the file in LiteDB's shared mode, so that several processes can use it (slower).</param>
    public LiteDbMetadataStore(string path, bool shared = false)
    {
        var folder = Path.GetDirectoryName(Path.GetFullPath(path));
        if (!string.IsNullOrEmpty(folder))
            Directory.CreateDirectory(folder);
        // LiteDB's defaults trim strings and store "" as null; stored text must come back exactly as written.
        var mapper = new BsonMapper { EnumAsInteger = false, TrimWhitespace = false, EmptyStringToNull = false };
        // LiteDB reads dates back as local time; the contract is UTC everywhere.
        mapper.RegisterType<DateTime>(
            value => new BsonValue(value.Kind == DateTimeKind.Unspecified ? DateTime.SpecifyKind(value, DateTimeKind.Utc) : value.ToUniversalTime()),
            bson => bson.AsDateTime.ToUniversalTime());
        _database = new LiteDatabase(new ConnectionString { Filename = path, Connection = shared ? ConnectionType.Shared : ConnectionType.Direct }, mapper);
        _crossProcessLock = shared ? Path.GetFullPath(path) + ".cas-lock" : null;
    }

    public IDocumentCollection<T> Collection<T>(string name) where T : class, IDocument
    {
        // LiteDB builds a type's mapping on first use and is not safe to do so from two threads at once.
        lock (_gate)
            return new LiteDbCollection<T>(_database.GetCollection<T>(name), name, _gate, _crossProcessLock);
    }

    /// <summary>
    /// In shared mode each LiteDB operation is atomic on its own, but a compare-and-swap is a read and a write:
    /// an exclusive lock on a file beside the database (flock on Linux) makes the pair atomic across processes.
    /// </summary>
    private static FileStream? LockAcrossProcesses(string? lockFile)
    {
        if (lockFile is null)
            return null;
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                return new FileStream(lockFile, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None, 1, FileOptions.None);
            }
            catch (IOException) when (attempt < 2000)
            {
                Thread.Sleep(5);
            }
        }
    }

    public Task PingAsync(CancellationToken cancellationToken = default)
    {
        lock (_gate)
            _ = _database.GetCollectionNames().Count();
        return Task.CompletedTask;
    }

    public void Dispose() => _database.Dispose();

    private sealed class LiteDbCollection<T>(ILiteCollection<T> collection, string name, Lock gate, string? crossProcessLock) : IDocumentCollection<T>
        where T : class, IDocument
    {
        public Task<bool> TryInsertAsync(T document, CancellationToken cancellationToken = default)
        {
            RequireId(document);
            lock (gate)
            {
                try
                {
                    collection.Insert(document);
                    return Task.FromResult(true);
                }
                catch (LiteException e) when (e.ErrorCode == LiteException.INDEX_DUPLICATE_KEY)
                {
                    return Task.FromResult(false);
                }
            }
        }

        public Task<IReadOnlyList<bool>> TryInsertManyAsync(IReadOnlyList<T> documents, CancellationToken cancellationToken = default)
        {
            foreach (var document in documents)
                RequireId(document);
            var inserted = new bool[documents.Count];
            lock (gate)
            using (LockAcrossProcesses(crossProcessLock))
            {
                // Under the store's gate nothing else writes, so checking ids first and inserting the rest in one
                // bulk transaction is exact, and far faster than one journaled insert per document.
                var ids = new HashSet<string>(StringComparer.Ordinal);
                var fresh = new List<T>(documents.Count);
                for (var i = 0; i < documents.Count; i++)
                {
                    inserted[i] = ids.Add(documents[i].Id) && collection.FindById(documents[i].Id) is null;
                    if (inserted[i])
                        fresh.Add(documents[i]);
                }
                try
                {
                    collection.InsertBulk(fresh);
                }
                catch (LiteException e) when (e.ErrorCode == LiteException.INDEX_DUPLICATE_KEY)
                {
                    // A secondary unique index refused one of them; the bulk insert rolled back, so go one by one.
                    for (var i = 0; i < documents.Count; i++)
                    {
                        if (!inserted[i])
                            continue;
                        try
                        {
                            collection.Insert(documents[i]);
                        }
                        catch (LiteException single) when (single.ErrorCode == LiteException.INDEX_DUPLICATE_KEY)
                        {
                            inserted[i] = false;
                        }
                    }
                }
            }
            return Task.FromResult<IReadOnlyList<bool>>(inserted);
        }

        public Task UpsertAsync(T document, CancellationToken cancellationToken = default)
        {
            RequireId(document);
            lock (gate)
            {
                try
                {
                    collection.Upsert(document);
                }
                catch (LiteException e) when (e.ErrorCode == LiteException.INDEX_DUPLICATE_KEY)
                {
                    throw new DuplicateDocumentException(name, e);
                }
            }
            return Task.CompletedTask;
        }

        public Task<bool> TryReplaceAsync(T document, Expression<Func<T, bool>> precondition, CancellationToken cancellationToken = default)
        {
            RequireId(document);
            var matches = precondition.Compile();
            lock (gate)
            using (LockAcrossProcesses(crossProcessLock))
            {
                var current = collection.FindById(document.Id);
                if (current is null || !matches(current))
                    return Task.FromResult(false);
                try
                {
                    return Task.FromResult(collection.Update(document));
                }
                catch (LiteException e) when (e.ErrorCode == LiteException.INDEX_DUPLICATE_KEY)
                {
                    throw new DuplicateDocumentException(name, e);
                }
            }
        }

        public Task<T?> GetAsync(string id, CancellationToken cancellationToken = default)
        {
            lock (gate)
                return Task.FromResult<T?>(collection.FindById(id));
        }

        public Task<IReadOnlyList<T>> GetManyAsync(IReadOnlyCollection<string> ids, CancellationToken cancellationToken = default)
        {
            var found = new List<T>(ids.Count);
            lock (gate)
            {
                foreach (var id in ids)
                {
                    if (collection.FindById(id) is { } document)
                        found.Add(document);
                }
            }
            return Task.FromResult<IReadOnlyList<T>>(found);
        }

        public Task<IReadOnlyList<T>> FindAsync(Expression<Func<T, bool>> filter, FindOptions<T>? options = null, CancellationToken cancellationToken = default)
        {
            lock (gate)
            {
                var query = collection.Query().Where(filter);
                if (options?.SortBy is { } sortBy)
                {
                    var path = "$." + string.Join('.', PropertyPath.Of(sortBy).Select(FieldName));
                    query = options.Descending ? query.OrderByDescending(BsonExpression.Create(path)) : query.OrderBy(BsonExpression.Create(path));
                }
                var results = options?.Limit is { } limit ? query.Limit(limit).ToList() : query.ToList();
                return Task.FromResult<IReadOnlyList<T>>(results);
            }
        }

        public Task<IReadOnlyList<string>> FindIdsAsync(Expression<Func<T, bool>> filter, CancellationToken cancellationToken = default)
        {
            lock (gate)
                return Task.FromResult<IReadOnlyList<string>>(collection.Query().Where(filter).Select(d => d.Id).ToList());
        }

        public Task<long> CountAsync(Expression<Func<T, bool>> filter, CancellationToken cancellationToken = default)
        {
            lock (gate)
                return Task.FromResult((long)collection.Count(filter));
        }

        public Task<bool> DeleteAsync(string id, CancellationToken cancellationToken = default)
        {
            lock (gate)
                return Task.FromResult(collection.Delete(id));
        }

        public Task<long> DeleteManyAsync(Expression<Func<T, bool>> filter, CancellationToken cancellationToken = default)
        {
            lock (gate)
                return Task.FromResult((long)collection.DeleteMany(filter));
        }

        public Task EnsureIndexAsync(Expression<Func<T, object?>> property, bool unique = false, CancellationToken cancellationToken = default)
        {
            var segments = PropertyPath.Of(property);
            if (segments is ["Id"])
                return Task.CompletedTask;
            lock (gate)
                collection.EnsureIndex(string.Join('_', segments), "$." + string.Join('.', segments), unique);
            return Task.CompletedTask;
        }

        private static string FieldName(string property) => property == "Id" ? "_id" : property;

        private static void RequireId(T document)
        {
            if (string.IsNullOrEmpty(document.Id))
                throw new ArgumentException("A document needs a non-empty Id.", nameof(document));
        }
    }
}
