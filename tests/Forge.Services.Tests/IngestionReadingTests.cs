using System.IO.Compression;
using System.IO.Pipelines;
using System.Text;
using System.Text.Json;
using Forge.Ingestion.Domain;
using Forge.Storage.Artifacts;
using Forge.Storage.Metadata;
using Forge.Testing;
using MassTransit;
using Microsoft.Extensions.Logging.Abstractions;
using UglyToad.PdfPig.Core;
using UglyToad.PdfPig.Fonts.Standard14Fonts;
using UglyToad.PdfPig.Writer;

namespace Forge.Services.Tests;

/// <summary>How ingestion reads what clients send: NDJSON lines, long texts, and files of each supported kind.</summary>
public sealed class IngestionReadingTests : IDisposable
{
    private readonly TemporaryFolder _folder = new("ingestion");
    private readonly FileSystemArtifactStore _artifacts;
    private readonly LiteDbMetadataStore _metadata;
    private readonly IngestionStore _store;
    private readonly BatchIngestor _ingestor;
    private readonly Source _source = new() { Id = "d:test", DatasetId = "d", Name = "test", Kind = "ndjson" };

    public IngestionReadingTests()
    {
        _artifacts = new FileSystemArtifactStore(Path.Combine(_folder.Path, "artifacts"));
        _metadata = new LiteDbMetadataStore(Path.Combine(_folder.Path, "metadata.db"));
        _store = new IngestionStore(_metadata);
        _ingestor = new BatchIngestor(_store, _artifacts, new DiscardingPublisher(), TimeProvider.System, NullLogger<BatchIngestor>.Instance);
    }

    private BatchAccumulator Accumulator(IngestionLimits limits, bool deferred = false, string? key = null) =>
        new(_ingestor, "d", _source, key, limits, deferred);

    private async Task<List<JsonElement>> StoredDocumentsAsync()
    {
        var documents = new List<JsonElement>();
        foreach (var batch in await _store.Batches.FindAsync(_ => true, new() { SortBy = b => b.RawKey }))
        {
            var text = Encoding.UTF8.GetString(await _artifacts.ReadAllBytesAsync(batch.RawKey));
            documents.AddRange(text.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement.Clone()));
        }
        return documents;
    }

    private static PipeReader Pipe(string text) => PipeReader.Create(new MemoryStream(Encoding.UTF8.GetBytes(text)));

    [Fact]
    public async Task NdjsonIsCommittedInBatchesAndBadLinesAreReportedWithTheirNumbers()
    {
        var lines = new StringBuilder();
        for (var i = 1; i <= 25; i++)
        {
            lines.Append(i switch
            {
                3 => "{\"text\": \"unterminated\n",
                7 => "[\"an array\"]\n",
                9 => "{\"body\": \"no text field\"}\n",
                11 => "{\"text\": 42}\n",
                13 => "{\"text\": \"\"}\n",
                15 => "\n",
                _ => JsonSerializer.Serialize(new { text = $"document {i} with \"quotes\" and é", id = $"d{i}" }) + "\n",
            });
        }
        using var accumulator = Accumulator(new IngestionLimits { BatchDocuments = 5 });

        var summary = await JsonLinesReader.ReadAsync(Pipe(lines.ToString()), accumulator, new LinePolicy("text", Strict: false), new IngestionLimits(), CancellationToken.None);
        await accumulator.CompleteAsync(CancellationToken.None);

        Assert.Equal(25, summary.Lines);
        Assert.Equal(19, summary.Documents);
        Assert.Equal(5, summary.BadLines);
        Assert.Equal([3L, 7, 9, 11, 13], summary.Errors.Select(e => e.Line));
        Assert.Contains("malformed JSON", summary.Errors[0].Reason, StringComparison.Ordinal);
        Assert.Contains("not a JSON object", summary.Errors[1].Reason, StringComparison.Ordinal);
        Assert.Contains("no \"text\" field", summary.Errors[2].Reason, StringComparison.Ordinal);
        Assert.Equal(4, await _store.Batches.CountAsync(_ => true));
        var stored = await StoredDocumentsAsync();
        Assert.Equal(19, stored.Count);
        Assert.Equal("document 1 with \"quotes\" and é", stored[0].GetProperty("text").GetString());
        Assert.Equal("d1", stored[0].GetProperty("id").GetString());
    }

    [Fact]
    public async Task StrictModeStoresNothingWhenALineIsBad()
    {
        using var accumulator = Accumulator(new IngestionLimits { BatchDocuments = 2 }, deferred: true);

        var summary = await JsonLinesReader.ReadAsync(Pipe("{\"text\":\"a\"}\n{\"text\":\"b\"}\n{\"text\":\"c\"}\nbroken\n{\"text\":\"d\"}\n"),
            accumulator, new LinePolicy("text", Strict: true), new IngestionLimits(), CancellationToken.None);

        Assert.Equal(4, summary.FirstFatal!.Line);
        Assert.Equal(0, await _store.Batches.CountAsync(_ => true));
        Assert.Empty(await _artifacts.ListAsync("").ToListAsync());
    }

    [Fact]
    public async Task AnOverlongLineIsSkippedWithoutBufferingIt()
    {
        var limits = new IngestionLimits { MaxLineBytes = 100 };
        using var accumulator = Accumulator(limits);
        var text = "{\"text\":\"ok\"}\n{\"text\":\"" + new string('x', 5000) + "\"}\n{\"text\":\"after\"}";

        var summary = await JsonLinesReader.ReadAsync(Pipe(text), accumulator, new LinePolicy("text", Strict: false), limits, CancellationToken.None);
        await accumulator.CompleteAsync(CancellationToken.None);

        Assert.Equal(2, summary.Documents);
        Assert.Equal(2, Assert.Single(summary.Errors).Line);
        Assert.Equal(["ok", "after"], (await StoredDocumentsAsync()).Select(d => d.GetProperty("text").GetString()));
    }

    [Fact]
    public async Task AConfiguredTextFieldIsRead()
    {
        using var accumulator = Accumulator(new IngestionLimits());

        var summary = await JsonLinesReader.ReadAsync(Pipe("{\"content\":\"from content\",\"text\":7}\n"), accumulator, new LinePolicy("content", Strict: false), new IngestionLimits(), CancellationToken.None);
        await accumulator.CompleteAsync(CancellationToken.None);

        Assert.Equal(1, summary.Documents);
        Assert.Equal("from content", (await StoredDocumentsAsync())[0].GetProperty("text").GetString());
    }

    [Fact]
    public async Task RetryingAStreamWithTheSameKeyStoresItsBatchesOnce()
    {
        const string Stream = "{\"text\":\"a\"}\n{\"text\":\"b\"}\n{\"text\":\"c\"}\n";
        for (var attempt = 0; attempt < 2; attempt++)
        {
            using var accumulator = Accumulator(new IngestionLimits { BatchDocuments = 2 }, key: "stream-1");
            await JsonLinesReader.ReadAsync(Pipe(Stream), accumulator, new LinePolicy("text", false), new IngestionLimits(), CancellationToken.None);
            var outcomes = await accumulator.CompleteAsync(CancellationToken.None);
            Assert.Equal(attempt == 0, outcomes.All(o => o.Created));
        }

        Assert.Equal(2, await _store.Batches.CountAsync(_ => true));
        Assert.Equal(2, (await _artifacts.ListAsync("datasets/d/raw/").ToListAsync()).Count);
    }

    [Fact]
    public void LongTextIsSplitAtParagraphBoundaries()
    {
        var paragraphs = Enumerable.Range(0, 10).Select(i => $"Paragraph {i}: " + new string('w', 80)).ToList();

        var documents = TextSplitter.Split(string.Join("\n\n", paragraphs), maxDocumentBytes: 300).ToList();

        Assert.True(documents.Count > 1);
        Assert.All(documents, d => Assert.True(Encoding.UTF8.GetByteCount(d) <= 300));
        Assert.Equal(string.Join("\n\n", paragraphs), string.Join("\n\n", documents));
    }

    [Fact]
    public void AnOverlongSingleLineIsCutWithoutSplittingASurrogatePair()
    {
        var line = string.Concat(Enumerable.Repeat("😀", 500));

        var pieces = TextSplitter.Split(line, maxDocumentBytes: 100).ToList();

        Assert.Equal(line, string.Concat(pieces));
        Assert.All(pieces, p => Assert.False(char.IsHighSurrogate(p[^1])));
    }

    [Theory]
    [InlineData("notes.txt", "First paragraph.\n\nSecond paragraph.", "First paragraph.\n\nSecond paragraph.")]
    [InlineData("readme.md", "# Title\n\nSome **bold** text and a [link](https://x.org).", "Title\nSome bold text and a link.")]
    [InlineData("page.html", "<html><head><script>var x=1;</script></head><body><nav>Menu</nav><p>The body text.</p><footer>Footer</footer></body></html>", "The body text.")]
    public async Task EachFileKindBecomesDocuments(string name, string content, string expected)
    {
        var text = await ExtractAsync(name, Encoding.UTF8.GetBytes(content));

        Assert.Equal(expected, text.Replace("\r", "", StringComparison.Ordinal).Trim());
    }

    [Fact]
    public async Task CompressedFilesAreReadThroughGzipAndZstd()
    {
        var plain = Encoding.UTF8.GetBytes("{\"text\":\"compressed line\"}\n");
        using var gzip = new MemoryStream();
        await using (var compressor = new GZipStream(gzip, CompressionLevel.Fastest, leaveOpen: true))
            await compressor.WriteAsync(plain);
        using var zstd = new ZstdSharp.Compressor();

        Assert.Equal("compressed line", await ExtractAsync("lines.jsonl.gz", gzip.ToArray()));
        Assert.Equal("compressed line", await ExtractAsync("lines.jsonl.zst", zstd.Wrap(plain).ToArray()));
    }

    [Fact]
    public async Task APdfBecomesItsText()
    {
        var builder = new PdfDocumentBuilder();
        var font = builder.AddStandard14Font(Standard14Font.Helvetica);
        builder.AddPage(595, 842).AddText("Chapter one of the book.", 12, new PdfPoint(50, 780), font);
        builder.AddPage(595, 842).AddText("Chapter two follows.", 12, new PdfPoint(50, 780), font);

        var text = await ExtractAsync("book.pdf", builder.Build());

        Assert.Contains("Chapter one of the book.", text, StringComparison.Ordinal);
        Assert.Contains("Chapter two follows.", text, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("image.png")]
    [InlineData("archive.zip")]
    [InlineData("noextension")]
    public void AnUnsupportedFileIsRefusedByName(string name)
    {
        var error = Assert.Throws<UnsupportedFileException>(() => FileExtractor.Describe(name));

        Assert.Equal(name, error.FileName);
    }

    [Fact]
    public async Task ACorruptPdfIsRefusedByName()
    {
        var error = await Assert.ThrowsAsync<UnsupportedFileException>(() => ExtractAsync("broken.pdf", Encoding.UTF8.GetBytes("%PDF-1.7 not really")));

        Assert.Equal("broken.pdf", error.FileName);
    }

    private async Task<string> ExtractAsync(string name, byte[] content)
    {
        await _store.Batches.DeleteManyAsync(_ => true);
        using var accumulator = Accumulator(new IngestionLimits());
        await FileExtractor.ExtractAsync(name, new MemoryStream(content), accumulator, new LinePolicy("text", false), new IngestionLimits(), CancellationToken.None);
        await accumulator.CompleteAsync(CancellationToken.None);
        return string.Join("\n", (await StoredDocumentsAsync()).Select(d => d.GetProperty("text").GetString()));
    }

    public void Dispose()
    {
        _metadata.Dispose();
        _folder.Dispose();
    }

    /// <summary>Batches are committed without a bus in these tests; the outbox sweep would publish them later.</summary>
    private sealed class DiscardingPublisher : IPublishEndpoint
    {
        public ConnectHandle ConnectPublishObserver(IPublishObserver observer) => throw new NotSupportedException();
        public Task Publish<T>(T message, CancellationToken cancellationToken = default) where T : class => Task.CompletedTask;
        public Task Publish<T>(T message, IPipe<PublishContext<T>> publishPipe, CancellationToken cancellationToken = default) where T : class => Task.CompletedTask;
        public Task Publish<T>(T message, IPipe<PublishContext> publishPipe, CancellationToken cancellationToken = default) where T : class => Task.CompletedTask;
        public Task Publish(object message, CancellationToken cancellationToken = default) => Task.CompletedTask;
        public Task Publish(object message, IPipe<PublishContext> publishPipe, CancellationToken cancellationToken = default) => Task.CompletedTask;
        public Task Publish(object message, Type messageType, CancellationToken cancellationToken = default) => Task.CompletedTask;
        public Task Publish(object message, Type messageType, IPipe<PublishContext> publishPipe, CancellationToken cancellationToken = default) => Task.CompletedTask;
        public Task Publish<T>(object values, CancellationToken cancellationToken = default) where T : class => Task.CompletedTask;
        public Task Publish<T>(object values, IPipe<PublishContext<T>> publishPipe, CancellationToken cancellationToken = default) where T : class => Task.CompletedTask;
        public Task Publish<T>(object values, IPipe<PublishContext> publishPipe, CancellationToken cancellationToken = default) where T : class => Task.CompletedTask;
    }
}
