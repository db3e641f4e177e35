namespace Forge.Inference.Domain;

/// <summary>Counts the generations each API key runs, so that one key cannot take every worker.</summary>
public sealed class KeyConcurrency
{
    private readonly Dictionary<string, int> _running = new(StringComparer.Ordinal);
    private readonly Lock _lock = new();

    /// <summary>A slot to dispose when the generation ends, or null when the key already runs <paramref name="limit"/>.</summary>
    public IDisposable? Enter(string key, int limit)
    {
        lock (_lock)
        {
            var running = _running.GetValueOrDefault(key);
            if (running >= limit)
                return null;
            _running[key] = running + 1;
        }
        return new Slot(this, key);
    }

    public int Running(string key)
    {
        lock (_lock)
            return _running.GetValueOrDefault(key);
    }

    private void Leave(string key)
    {
        lock (_lock)
        {
            if (--_running[key] == 0)
                _running.Remove(key);
        }
    }

    private sealed class Slot(KeyConcurrency owner, string key) : IDisposable
    {
        private int _disposed;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) == 0)
                owner.Leave(key);
        }
    }
}
