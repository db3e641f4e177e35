using System.IO.Compression;
using System.IO.Pipelines;
using System.Text;
using Forge.TextExtraction;
using ZstdSharp;

namespace Forge.Ingestion.Domain;

public sealed class UnsupportedFileException(string fileName, string reason) : Exception($"{fileName}: {reason}")
{
    public string FileName { get; } = fileName;
}

/// <summary>
/// Turns an uploaded file into documents by its name: .txt, .md, .html/.htm, .pdf, .jsonl/.ndjson, each also as
/// .gz or .zst. Text and JSON lines are streamed; Markdown, HTML and PDF are parsed whole (up to a size limit).
/// Given a separator (fortune files' "%"), any other file is read as text and cut into one document per block
/// between lines that hold only the separator.
/// </summary>
public static class FileExtractor
{
    public static readonly string[] Supported = [".txt", ".md", ".markdown", ".html", ".htm", ".pdf", ".jsonl", ".ndjson"];

    /// <summary>
    /// The file's format (its extension without compression) and whether it is compressed. With
    /// <paramref name="anyText"/>, a file of any other extension (or none) is accepted, to be read as text.
    /// </summary>
    public static (string Format, string? Compression) Describe(string fileName, bool anyText = false)
    {
        var name = fileName.ToLowerInvariant();
        string? compression = null;
        if (name.EndsWith(".gz", StringComparison.Ordinal))
            (compression, name) = ("gzip", name[..^3]);
        else if (name.EndsWith(".zst", StringComparison.Ordinal))
            (compression, name) = ("zstd", name[..^4]);
        var format = Path.GetExtension(name);
        if (!Supported.Contains(format) && !anyText)
            throw new UnsupportedFileException(fileName, $"{(format.Length == 0 ? "files without an extension" : $"'{format}' files")} are not supported; send {string.Join(", ", Supported)} (optionally .gz or .zst).");
        return (format, compression);
    }

    public static async Task<JsonLinesSummary> ExtractAsync(
        string fileName, Stream file, BatchAccumulator output, LinePolicy policy, IngestionLimits limits, CancellationToken cancellationToken, string? separator = null)
    {
        var (format, compression) = Describe(fileName, anyText: separator is not null);
        // A file read as text only because a separator was given may be anything: fortune's .dat indexes are binary.
        if (!Supported.Contains(format) && compression is null && file.CanSeek && await LooksBinaryAsync(file, cancellationToken))
            throw new UnsupportedFileException(fileName, "a binary file, not text.");
        await using var content = compression switch
        {
            "gzip" => new GZipStream(file, CompressionMode.Decompress, leaveOpen: true),
            "zstd" => new DecompressionStream(file, leaveOpen: true),
            _ => (Stream)new NonClosingStream(file),
        };
        try
        {
            switch (format)
            {
                case ".jsonl" or ".ndjson":
                    return await JsonLinesReader.ReadAsync(PipeReader.Create(content), output, policy, limits, cancellationToken, fileName);
                case ".pdf" or ".md" or ".markdown" or ".html" or ".htm":
                    var text = format switch
                    {
                        ".pdf" => PdfText.Extract(await ReadBoundedAsync(fileName, content, limits, cancellationToken)),
                        ".md" or ".markdown" => MarkdownText.Extract(await ReadTextAsync(fileName, content, limits, cancellationToken)),
                        _ => HtmlText.Extract(await ReadTextAsync(fileName, content, limits, cancellationToken)),
                    };
                    long documents = 0;
                    foreach (var document in TextSplitter.Split(text, limits.MaxDocumentBytes))
                    {
                        await output.AddTextAsync(document, null, cancellationToken);
                        documents++;
                    }
                    return new JsonLinesSummary(0, documents, 0, [], null);
                default:
                    return await ExtractPlainTextAsync(content, output, limits, separator, cancellationToken);
            }
        }
        catch (InvalidDataException e)
        {
            throw new UnsupportedFileException(fileName, e.Message);
        }
        catch (ZstdException e)
        {
            throw new UnsupportedFileException(fileName, $"not valid zstd data: {e.Message}");
        }
    }

    /// <summary>Streams text into documents: split at paragraphs when long, and cut at separator lines when one is given (empty blocks are dropped).</summary>
    private static async Task<JsonLinesSummary> ExtractPlainTextAsync(Stream content, BatchAccumulator output, IngestionLimits limits, string? separator, CancellationToken cancellationToken)
    {
        using var reader = new StreamReader(content, Encoding.UTF8, detectEncodingFromByteOrderMarks: true, bufferSize: 1 << 16, leaveOpen: true);
        var splitter = new TextSplitter(limits.MaxDocumentBytes);
        long documents = 0, lines = 0;
        async Task AddAsync(string document)
        {
            await output.AddTextAsync(document, null, cancellationToken);
            documents++;
        }
        while (await reader.ReadLineAsync(cancellationToken) is { } line)
        {
            lines++;
            if (separator is not null && line.AsSpan().Trim().SequenceEqual(separator))
            {
                if (splitter.Finish() is { } block)
                    await AddAsync(block);
                continue;
            }
            foreach (var document in splitter.AddLine(line))
                await AddAsync(document);
        }
        if (splitter.Finish() is { } last)
            await AddAsync(last);
        return new JsonLinesSummary(lines, documents, 0, [], null);
    }

    /// <summary>Whether the file's first bytes hold a NUL, which text never does; the file is left where it was.</summary>
    private static async Task<bool> LooksBinaryAsync(Stream file, CancellationToken cancellationToken)
    {
        var start = file.Position;
        var head = new byte[8192];
        var read = await file.ReadAtLeastAsync(head, head.Length, throwOnEndOfStream: false, cancellationToken);
        file.Position = start;
        return head.AsSpan(0, read).Contains((byte)0);
    }

    private static async Task<MemoryStream> ReadBoundedAsync(string fileName, Stream content, IngestionLimits limits, CancellationToken cancellationToken)
    {
        var buffer = new MemoryStream();
        var chunk = new byte[1 << 16];
        int read;
        while ((read = await content.ReadAsync(chunk, cancellationToken)) > 0)
        {
            if (buffer.Length + read > limits.MaxParsedFileBytes)
                throw new UnsupportedFileException(fileName, $"larger than {limits.MaxParsedFileBytes} bytes, the limit for files that are parsed whole (Ingestion:MaxParsedFileBytes).");
            buffer.Write(chunk, 0, read);
        }
        buffer.Position = 0;
        return buffer;
    }

    private static async Task<string> ReadTextAsync(string fileName, Stream content, IngestionLimits limits, CancellationToken cancellationToken)
    {
        using var bytes = await ReadBoundedAsync(fileName, content, limits, cancellationToken);
        using var reader = new StreamReader(bytes, Encoding.UTF8, detectEncodingFromByteOrderMarks: true);
        return await reader.ReadToEndAsync(cancellationToken);
    }

    /// <summary>Lets the extraction dispose its reader without closing the caller's file.</summary>
    private sealed class NonClosingStream(Stream inner) : Stream
    {
        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override int Read(byte[] buffer, int offset, int count) => inner.Read(buffer, offset, count);
        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) => inner.ReadAsync(buffer, cancellationToken);
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
