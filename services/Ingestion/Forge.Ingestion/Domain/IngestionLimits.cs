namespace Forge.Ingestion.Domain;

/// <summary>The configuration section "Ingestion": batch sizes and the limits on what clients may send.</summary>
public sealed record IngestionLimits
{
    public const string Section = "Ingestion";

    /// <summary>A batch is committed once it holds this many documents...</summary>
    public int BatchDocuments { get; init; } = 5_000;
    /// <summary>...or this many bytes of JSON lines, whichever comes first.</summary>
    public int BatchBytes { get; init; } = 4 * 1024 * 1024;
    /// <summary>The longest NDJSON or JSONL line accepted (422 in strict mode, a reported skip otherwise).</summary>
    public int MaxLineBytes { get; init; } = 1024 * 1024;
    /// <summary>The largest NDJSON stream or multipart upload body (413 beyond).</summary>
    public long MaxStreamBytes { get; init; } = 16L * 1024 * 1024 * 1024;
    /// <summary>
    /// Text longer than this (a book, a long page) is split into documents at paragraph boundaries. Documents are the
    /// unit of the train/validation split and of dedup, so a book must become many: 16 KiB is a few pages.
    /// </summary>
    public int MaxDocumentBytes { get; init; } = 16 * 1024;
    /// <summary>Markdown, HTML and PDF files are parsed whole, so they are limited to this size after decompression.</summary>
    public long MaxParsedFileBytes { get; init; } = 64L * 1024 * 1024;
    /// <summary>How many line errors a response lists (all are counted).</summary>
    public int MaxErrorsReported { get; init; } = 20;
}
