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
/// </summary>
public static class FileExtractor
{
    public static readonly string[] Supported = [".txt", ".md", ".markdown", ".html", ".htm", ".pdf", ".jsonl", ".ndjson"];

    /// <summary>The file's format (its extension without compression) and whether it is compressed.</summary>
    public static (string Format, string? Compression) Describe(string fileName)
    {
        var name = fileName.ToLowerInvariant();
        string? compression = null;
        if (name.EndsWith(".gz", StringComparison.Ordinal))
            (compression, name) = ("gzip", name[..^3]);
        else if (name.EndsWith(".zst", StringComparison.Ordinal))
            (compression, name) = ("zstd", name[..^4]);
        var format = Path.GetExtension(name);
        if (!Supported.Contains(format))
            throw new UnsupportedFileException(fileName, $"'{format}' files are not supported; send {string.Join(", ", Supported)} (optionally .gz or .zst).");
        return (format, compression);
    }

    public static async Task<JsonLinesSummary> ExtractAsync(string fileName, Stream file, BatchAccumulator output, LinePolicy policy, IngestionLimits limits, CancellationToken cancellationToken)
    {
        var (format, compression) = Describe(fileName);
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
                case ".txt":
                    return await ExtractPlainTextAsync(content, output, limits, cancellationToken);
                default:
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

    private static async Task<JsonLinesSummary> ExtractPlainTextAsync(Stream content, BatchAccumulator output, IngestionLimits limits, CancellationToken cancellationToken)
    {
        using var reader = new StreamReader(content, Encoding.UTF8, detectEncodingFromByteOrderMarks: true, bufferSize: 1 << 16, leaveOpen: true);
        var splitter = new TextSplitter(limits.MaxDocumentBytes);
        long documents = 0, lines = 0;
        while (await reader.ReadLineAsync(cancellationToken) is { } line)
        {
            lines++;
            foreach (var document in splitter.AddLine(line))
            {
                await output.AddTextAsync(document, null, cancellationToken);
                documents++;
            }
        }
        if (splitter.Finish() is { } last)
        {
            await output.AddTextAsync(last, null, cancellationToken);
            documents++;
        }
        return new JsonLinesSummary(lines, documents, 0, [], null);
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
