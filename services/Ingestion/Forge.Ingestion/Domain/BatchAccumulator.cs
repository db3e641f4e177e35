using System.Buffers;
using System.Text.Json;

namespace Forge.Ingestion.Domain;

public sealed record LineError(long Line, string Reason, string? File = null);

/// <summary>
/// Collects documents of one source into JSON-lines batches and commits each batch when it is full, so cleaning
/// starts while a stream is still arriving. In deferred (strict) mode, full batches are spooled to temporary
/// files and committed only by <see cref="CompleteAsync"/>, so a refused request stores nothing.
/// </summary>
public sealed class BatchAccumulator(BatchIngestor ingestor, string datasetId, Source source, string? idempotencyKey, IngestionLimits limits, bool deferred) : IDisposable
{
    private readonly ArrayBufferWriter<byte> _buffer = new(1 << 16);
    private readonly List<(string Path, int Documents, int Sequence)> _spooled = [];
    private readonly List<IngestOutcome> _outcomes = [];
    private Utf8JsonWriter? _writer;
    private int _documents;
    private int _sequence;

    public IReadOnlyList<IngestOutcome> Outcomes => _outcomes;
    public long DocumentsAccepted { get; private set; }

    /// <summary>True when the gathered documents make a full batch: the caller then awaits <see cref="FlushAsync"/>.</summary>
    public bool IsFull => _documents >= limits.BatchDocuments || _buffer.WrittenCount >= limits.BatchBytes;

    /// <summary>
    /// Adds a document whose text is given as a JSON string token, quotes included, exactly as it arrived. It only
    /// gathers (no I/O), so a reader can add the lines of a buffer without a copy each; it flushes when <see cref="IsFull"/>.
    /// </summary>
    public void AddJsonText(ReadOnlySpan<byte> quotedJsonString, ReadOnlySpan<byte> quotedJsonId)
    {
        var writer = StartDocument();
        writer.WritePropertyName("text"u8);
        writer.WriteRawValue(quotedJsonString, skipInputValidation: true);
        if (!quotedJsonId.IsEmpty)
        {
            writer.WritePropertyName("id"u8);
            writer.WriteRawValue(quotedJsonId, skipInputValidation: true);
        }
        EndDocument(writer);
    }

    public Task AddTextAsync(string text, string? id, CancellationToken cancellationToken)
    {
        var writer = StartDocument();
        writer.WriteString("text"u8, text);
        return EndDocumentAsync(writer, id, cancellationToken);
    }

    private Utf8JsonWriter StartDocument()
    {
        _writer ??= new Utf8JsonWriter(_buffer, new JsonWriterOptions { SkipValidation = true });
        _writer.WriteStartObject();
        return _writer;
    }

    private async Task EndDocumentAsync(Utf8JsonWriter writer, string? id, CancellationToken cancellationToken)
    {
        if (id is not null)
            writer.WriteString("id"u8, id);
        EndDocument(writer);
        if (IsFull)
            await FlushAsync(cancellationToken);
    }

    private void EndDocument(Utf8JsonWriter writer)
    {
        writer.WriteEndObject();
        writer.Flush();
        writer.Reset();
        _buffer.Write("\n"u8);
        _documents++;
        DocumentsAccepted++;
    }

    /// <summary>Commits (or, deferred, spools) the documents gathered so far as one batch.</summary>
    public async Task FlushAsync(CancellationToken cancellationToken)
    {
        if (_documents == 0)
            return;
        var sequence = ++_sequence;
        if (deferred)
        {
            var path = Path.GetTempFileName();
            await File.WriteAllBytesAsync(path, _buffer.WrittenMemory, cancellationToken);
            _spooled.Add((path, _documents, sequence));
        }
        else
        {
            await CommitAsync(_buffer.WrittenSpan.ToArray(), _documents, sequence, cancellationToken);
        }
        _buffer.ResetWrittenCount();
        _documents = 0;
    }

    /// <summary>Flushes the last batch and commits every spooled one.</summary>
    public async Task<IReadOnlyList<IngestOutcome>> CompleteAsync(CancellationToken cancellationToken)
    {
        await FlushAsync(cancellationToken);
        foreach (var (path, documents, sequence) in _spooled)
        {
            await CommitAsync(await File.ReadAllBytesAsync(path, cancellationToken), documents, sequence, cancellationToken);
            File.Delete(path);
        }
        _spooled.Clear();
        return _outcomes;
    }

    private async Task CommitAsync(byte[] jsonLines, int documents, int sequence, CancellationToken cancellationToken)
    {
        var batchId = BatchIngestor.BatchIdFor(datasetId, idempotencyKey, sequence);
        _outcomes.Add(await ingestor.CommitAsync(new PendingBatch(datasetId, source, batchId, idempotencyKey is null ? null : $"{idempotencyKey}#{sequence}", jsonLines, documents), cancellationToken));
    }

    /// <summary>Drops what was gathered or spooled and not committed.</summary>
    public void Dispose()
    {
        foreach (var (path, _, _) in _spooled)
        {
            try { File.Delete(path); }
            catch (IOException) { }
        }
        _spooled.Clear();
        _writer?.Dispose();
    }
}
