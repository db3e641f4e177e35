using Forge.Model;
using Forge.Serving;
using Forge.Storage.Artifacts;
using Forge.Tokenization;
using Microsoft.Extensions.Logging;

namespace Forge.Inference.Domain;

/// <summary>A loaded model version: the network (in eval mode), its tokenizer and its chat template.</summary>
public sealed class LoadedModel(ServedVersion version, LanguageModel network, ITokenizer tokenizer) : IDisposable
{
    public ServedVersion Version { get; } = version;
    public LanguageModel Network { get; } = network;
    public ITokenizer Tokenizer { get; } = tokenizer;
    public ChatTemplate Chat { get; } = ChatTemplate.For(tokenizer);
    public int ContextLength => Network.Config.ContextLength;

    public void Dispose() => Network.Dispose();
}

/// <summary>
/// Keeps the most recently used model versions loaded (Inference:CachedModels). Requests hold a lease while they
/// generate; an evicted model is disposed when its last lease ends, never under a running request. Concurrent
/// requests for a version that is not loaded yet share one load.
/// </summary>
public sealed class ModelCache(IArtifactStore artifacts, InferenceOptions options, ILogger<ModelCache> logger) : IDisposable
{
    private readonly Lock _lock = new();
    private readonly Dictionary<string, Entry> _entries = new(StringComparer.Ordinal);
    private long _clock;

    public IReadOnlyList<string> Loaded
    {
        get
        {
            lock (_lock)
                return [.. _entries.Values.Where(e => e.Load.IsCompletedSuccessfully).OrderByDescending(e => e.LastUsed).Select(e => e.Id)];
        }
    }

    public async Task<Lease> AcquireAsync(ServedVersion version, CancellationToken cancellationToken)
    {
        Entry entry;
        lock (_lock)
        {
            if (!_entries.TryGetValue(version.Id, out entry!))
            {
                entry = new Entry(version.Id, LoadAsync(version));
                _entries[version.Id] = entry;
            }
            entry.Leases++;
            entry.LastUsed = ++_clock;
        }
        try
        {
            var model = await entry.Load.WaitAsync(cancellationToken);
            EvictBeyondCapacity();
            return new Lease(this, entry, model);
        }
        catch
        {
            Release(entry);
            lock (_lock)
            {
                if (entry.Load.IsFaulted && _entries.TryGetValue(entry.Id, out var current) && current == entry)
                    _entries.Remove(entry.Id); // the next request tries again
            }
            throw;
        }
    }

    private async Task<LoadedModel> LoadAsync(ServedVersion version)
    {
        await Task.Yield();
        var tokenizer = await ModelArtifacts.LoadTokenizerAsync(artifacts, version.TokenizerId, CancellationToken.None)
            ?? throw new InvalidOperationException($"The tokenizer '{version.TokenizerId}' of {version.Id} is not in the artifact store.");
        var network = await ModelArtifacts.LoadModelAsync(artifacts, version.CheckpointKey, options.WorkFolder, CancellationToken.None, options.Device);
        network.eval();
        logger.LogInformation("Loaded {ModelVersionId}: {Parameters:N0} parameters, context {Context}", version.Id, network.ParameterCount, network.Config.ContextLength);
        return new LoadedModel(version, network, tokenizer);
    }

    private void EvictBeyondCapacity()
    {
        List<Entry> evicted = [];
        lock (_lock)
        {
            var loaded = _entries.Values.Where(e => e.Load.IsCompletedSuccessfully).OrderBy(e => e.LastUsed).ToList();
            for (var i = 0; i < loaded.Count - Math.Max(1, options.CachedModels); i++)
            {
                _entries.Remove(loaded[i].Id);
                loaded[i].Evicted = true;
                if (loaded[i].Leases == 0)
                    evicted.Add(loaded[i]);
            }
        }
        foreach (var entry in evicted)
            Unload(entry);
    }

    private void Release(Entry entry)
    {
        bool unload;
        lock (_lock)
            unload = --entry.Leases == 0 && entry.Evicted;
        if (unload)
            Unload(entry);
    }

    private void Unload(Entry entry)
    {
        logger.LogInformation("Unloaded {ModelVersionId} (least recently used)", entry.Id);
        entry.Load.Result.Dispose();
    }

    public void Dispose()
    {
        lock (_lock)
        {
            foreach (var entry in _entries.Values.Where(e => e.Load.IsCompletedSuccessfully))
                entry.Load.Result.Dispose();
            _entries.Clear();
        }
    }

    internal sealed class Entry(string id, Task<LoadedModel> load)
    {
        public string Id { get; } = id;
        public Task<LoadedModel> Load { get; } = load;
        public int Leases { get; set; }
        public long LastUsed { get; set; }
        public bool Evicted { get; set; }
    }

    /// <summary>A request's hold on a loaded model; disposing it lets the model be unloaded.</summary>
    public sealed class Lease : IDisposable
    {
        private readonly ModelCache _cache;
        private readonly Entry _entry;
        private int _disposed;

        internal Lease(ModelCache cache, Entry entry, LoadedModel model)
        {
            _cache = cache;
            _entry = entry;
            Model = model;
        }

        public LoadedModel Model { get; }

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) == 0)
                _cache.Release(_entry);
        }
    }
}
