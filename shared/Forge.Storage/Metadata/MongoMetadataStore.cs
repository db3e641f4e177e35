using System.Linq.Expressions;
using MongoDB.Bson;
using MongoDB.Bson.Serialization.Conventions;
using MongoDB.Driver;

namespace Forge.Storage.Metadata;

public sealed record MongoOptions
{
    public string ConnectionString { get; init; } = "mongodb://localhost:27017";
    public string Database { get; init; } = "forge";
}

/// <summary>Metadata in MongoDB: one collection per document kind, unique indexes enforced by the server.</summary>
public sealed class MongoMetadataStore : IMetadataStore
{
    private static readonly Lock ConventionsGate = new();
    private static bool _conventionsRegistered;
    private readonly IMongoDatabase _database;

    public MongoMetadataStore(MongoOptions options)
    {
        RegisterConventions();
        _database = new MongoClient(options.ConnectionString).GetDatabase(options.Database);
    }

    public IDocumentCollection<T> Collection<T>(string name) where T : class, IDocument =>
        new MongoCollection<T>(_database.GetCollection<T>(name), name);

    public async Task PingAsync(CancellationToken cancellationToken = default) =>
        await _database.RunCommandAsync((Command<BsonDocument>)"{ ping: 1 }", cancellationToken: cancellationToken).ConfigureAwait(false);

    /// <summary>Drops the whole database (tests only use this on databases they created).</summary>
    public Task DropDatabaseAsync(CancellationToken cancellationToken = default) =>
        _database.Client.DropDatabaseAsync(_database.DatabaseNamespace.DatabaseName, cancellationToken);

    private static void RegisterConventions()
    {
        lock (ConventionsGate)
        {
            if (_conventionsRegistered)
                return;
            ConventionRegistry.Register("forge", new ConventionPack
            {
                new IgnoreExtraElementsConvention(true),
                new EnumRepresentationConvention(BsonType.String),
            }, _ => true);
            _conventionsRegistered = true;
        }
    }

    private sealed class MongoCollection<T>(IMongoCollection<T> collection, string name) : IDocumentCollection<T>
        where T : class, IDocument
    {
        // By element name rather than d => d.Id: the LINQ provider cannot always map an interface member of a generic T.
        private static FilterDefinition<T> ById(string id) => Builders<T>.Filter.Eq(new StringFieldDefinition<T, string>("_id"), id);

        public async Task<bool> TryInsertAsync(T document, CancellationToken cancellationToken = default)
        {
            RequireId(document);
            try
            {
                await collection.InsertOneAsync(document, cancellationToken: cancellationToken).ConfigureAwait(false);
                return true;
            }
            catch (MongoWriteException e) when (e.WriteError?.Category == ServerErrorCategory.DuplicateKey)
            {
                return false;
            }
        }

        public async Task<IReadOnlyList<bool>> TryInsertManyAsync(IReadOnlyList<T> documents, CancellationToken cancellationToken = default)
        {
            foreach (var document in documents)
                RequireId(document);
            var inserted = Enumerable.Repeat(true, documents.Count).ToArray();
            if (documents.Count == 0)
                return inserted;
            try
            {
                await collection.InsertManyAsync(documents, new InsertManyOptions { IsOrdered = false }, cancellationToken).ConfigureAwait(false);
            }
            catch (MongoBulkWriteException<T> e) when (e.WriteErrors.All(w => w.Category == ServerErrorCategory.DuplicateKey))
            {
                foreach (var error in e.WriteErrors)
                    inserted[error.Index] = false;
            }
            return inserted;
        }

        public async Task UpsertAsync(T document, CancellationToken cancellationToken = default)
        {
            RequireId(document);
            try
            {
                await collection.ReplaceOneAsync(ById(document.Id), document, new ReplaceOptions { IsUpsert = true }, cancellationToken).ConfigureAwait(false);
            }
            catch (MongoWriteException e) when (e.WriteError?.Category == ServerErrorCategory.DuplicateKey)
            {
                throw new DuplicateDocumentException(name, e);
            }
        }

        public async Task<bool> TryReplaceAsync(T document, Expression<Func<T, bool>> precondition, CancellationToken cancellationToken = default)
        {
            RequireId(document);
            try
            {
                var filter = ById(document.Id) & Builders<T>.Filter.Where(precondition);
                var result = await collection.ReplaceOneAsync(filter, document, new ReplaceOptions { IsUpsert = false }, cancellationToken).ConfigureAwait(false);
                return result.MatchedCount == 1;
            }
            catch (MongoWriteException e) when (e.WriteError?.Category == ServerErrorCategory.DuplicateKey)
            {
                throw new DuplicateDocumentException(name, e);
            }
        }

        public async Task<T?> GetAsync(string id, CancellationToken cancellationToken = default) =>
            await collection.Find(ById(id)).FirstOrDefaultAsync(cancellationToken).ConfigureAwait(false);

        public async Task<IReadOnlyList<T>> GetManyAsync(IReadOnlyCollection<string> ids, CancellationToken cancellationToken = default) =>
            ids.Count == 0
                ? []
                : await collection.Find(Builders<T>.Filter.In(new StringFieldDefinition<T, string>("_id"), ids)).ToListAsync(cancellationToken).ConfigureAwait(false);

        public async Task<IReadOnlyList<T>> FindAsync(Expression<Func<T, bool>> filter, FindOptions<T>? options = null, CancellationToken cancellationToken = default)
        {
            var find = collection.Find(filter);
            if (options?.SortBy is { } sortBy)
            {
                var field = new StringFieldDefinition<T>(string.Join('.', PropertyPath.Of(sortBy).Select(FieldName)));
                find = find.Sort(options.Descending ? Builders<T>.Sort.Descending(field) : Builders<T>.Sort.Ascending(field));
            }
            if (options?.Limit is { } limit)
                find = find.Limit(limit);
            return await find.ToListAsync(cancellationToken).ConfigureAwait(false);
        }

        public async Task<IReadOnlyList<string>> FindIdsAsync(Expression<Func<T, bool>> filter, CancellationToken cancellationToken = default)
        {
            var ids = await collection.Find(filter).Project(Builders<T>.Projection.Include("_id")).ToListAsync(cancellationToken).ConfigureAwait(false);
            return ids.Select(d => d["_id"].AsString).ToList();
        }

        public Task<long> CountAsync(Expression<Func<T, bool>> filter, CancellationToken cancellationToken = default) =>
            collection.CountDocumentsAsync(filter, cancellationToken: cancellationToken);

        public async Task<bool> DeleteAsync(string id, CancellationToken cancellationToken = default) =>
            (await collection.DeleteOneAsync(ById(id), cancellationToken).ConfigureAwait(false)).DeletedCount == 1;

        public async Task<long> DeleteManyAsync(Expression<Func<T, bool>> filter, CancellationToken cancellationToken = default) =>
            (await collection.DeleteManyAsync(filter, cancellationToken).ConfigureAwait(false)).DeletedCount;

        public async Task EnsureIndexAsync(Expression<Func<T, object?>> property, bool unique = false, CancellationToken cancellationToken = default)
        {
            var segments = PropertyPath.Of(property);
            if (segments is ["Id"])
                return;
            var field = new StringFieldDefinition<T>(string.Join('.', segments));
            var model = new CreateIndexModel<T>(Builders<T>.IndexKeys.Ascending(field), new CreateIndexOptions { Unique = unique, Name = string.Join('_', segments) });
            await collection.Indexes.CreateOneAsync(model, cancellationToken: cancellationToken).ConfigureAwait(false);
        }

        private static string FieldName(string property) => property == "Id" ? "_id" : property;

        private static void RequireId(T document)
        {
            if (string.IsNullOrEmpty(document.Id))
                throw new ArgumentException("A document needs a non-empty Id.", nameof(document));
        }
    }
}
