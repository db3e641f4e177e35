using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Forge.Contracts;
using Forge.Ingestion.Domain;
using Forge.Storage.Artifacts;
using Forge.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;

namespace Forge.Services.Tests;

/// <summary>A build's IngestFilesRequested: files read from the service's file system, once however often it is sent.</summary>
public sealed class IngestFilesCommandTests(BuildServicesHost services) : IClassFixture<BuildServicesHost>, IDisposable
{
    private readonly TemporaryFolder _files = new("build-files");

    public void Dispose() => _files.Dispose();

    private IngestionStore Store => services.Services.GetRequiredService<IngestionStore>();

    private async Task<List<string>> StoredTextsAsync(string datasetId)
    {
        var artifacts = services.Services.GetRequiredService<IArtifactStore>();
        var texts = new List<string>();
        foreach (var batch in await Store.Batches.FindAsync(b => b.DatasetId == datasetId))
        {
            var lines = Encoding.UTF8.GetString(await artifacts.ReadAllBytesAsync(batch.RawKey)).Split('\n', StringSplitOptions.RemoveEmptyEntries);
            texts.AddRange(lines.Select(line => JsonDocument.Parse(line).RootElement.GetProperty("text").GetString()!));
        }
        return texts;
    }

    [Fact]
    public async Task AFolderBecomesOneDocumentPerFortuneAndPerFileAndTheReplyListsWhatWasSkipped()
    {
        var skipped = BuildCorpus.Write(_files.Path);

        await services.SendAsync(new IngestFilesRequested("b-folder", "folder", [_files.Path], "%"));

        var reply = (await services.WaitForAsync<FilesIngested>(f => f.BuildId == "b-folder"))[0];
        Assert.Equal("folder", reply.DatasetId);
        Assert.Equal(5, reply.Documents);
        Assert.Equal([skipped], reply.SkippedFiles);
        var texts = await StoredTextsAsync("folder");
        Assert.Equal(5, texts.Count);
        Assert.All(BuildCorpus.Fortunes, fortune => Assert.Contains(fortune, texts));
        Assert.Contains(BuildCorpus.Notes, texts);
        Assert.Contains(texts, t => t.Contains(BuildCorpus.GuideText, StringComparison.Ordinal));
        var batches = await Store.Batches.FindAsync(b => b.DatasetId == "folder");
        // Two documents a batch: the three fortunes make two batches, each other file one.
        Assert.Equal(4, batches.Count);
        Assert.Equal(batches.Select(b => b.Id).Order(StringComparer.Ordinal), reply.BatchIds.Order(StringComparer.Ordinal));
        Assert.Equal(batches.Sum(b => b.Bytes), reply.Bytes);
        Assert.NotNull(await Store.Datasets.GetAsync("folder"));
        await services.WaitForAsync<DocumentsIngested>(d => d.DatasetId == "folder", count: 4);
    }

    [Fact]
    public async Task AUrlIsDownloadedAndIngestedOnceAndAFailingOneFailsTheStage()
    {
        // A web server on loopback stands in for the URL a recipe names.
        var web = Microsoft.AspNetCore.Builder.WebApplication.CreateBuilder();
        web.Configuration["Urls"] = "http://127.0.0.1:0";
        var app = web.Build();
        app.MapGet("/corpus/quotes", () => Microsoft.AspNetCore.Http.Results.Text(string.Join("\n%\n", BuildCorpus.Fortunes) + "\n%\n", "text/plain"));
        await using var server = await LoopbackApp.StartAsync(app);
        var url = new Uri(server.Client.BaseAddress!, "/corpus/quotes").AbsoluteUri;

        await services.SendAsync(new IngestFilesRequested("b-url", "from-url", [url], "%"));
        var reply = (await services.WaitForAsync<FilesIngested>(f => f.BuildId == "b-url"))[0];
        Assert.Equal(BuildCorpus.Fortunes.Length, reply.Documents);
        var texts = await StoredTextsAsync("from-url");
        Assert.All(BuildCorpus.Fortunes, fortune => Assert.Contains(fortune, texts));

        await services.SendAsync(new IngestFilesRequested("b-url", "from-url", [url], "%"));
        await services.WaitForAsync<FilesIngested>(f => f.BuildId == "b-url", count: 2);
        Assert.Equal(reply.BatchIds.Count, (await Store.Batches.FindAsync(b => b.DatasetId == "from-url")).Count);

        await services.SendAsync(new IngestFilesRequested("b-url-404", "missing-url", [new Uri(server.Client.BaseAddress!, "/nope").AbsoluteUri], null));
        var failed = (await services.WaitForAsync<BuildStageFailed>(f => f.BuildId == "b-url-404"))[0];
        Assert.Equal("ingest", failed.Stage);
        Assert.Contains("404", failed.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RepeatingTheCommandStoresNothingNewAndRepliesTheSame()
    {
        BuildCorpus.Write(_files.Path);
        var command = new IngestFilesRequested("b-repeat", "repeat", [_files.Path], "%");
        await services.SendAsync(command);
        var first = (await services.WaitForAsync<FilesIngested>(f => f.BuildId == "b-repeat"))[0];
        await services.WaitForAsync<DocumentsIngested>(d => d.DatasetId == "repeat", count: first.BatchIds.Count);

        await services.SendAsync(command);

        var second = (await services.WaitForAsync<FilesIngested>(f => f.BuildId == "b-repeat", count: 2))[1];
        Assert.Equal(first.BatchIds, second.BatchIds);
        Assert.Equal(first.Documents, second.Documents);
        Assert.Equal(first.Bytes, second.Bytes);
        Assert.Equal(first.BatchIds.Count, await Store.Batches.CountAsync(b => b.DatasetId == "repeat"));
        Assert.Equal(first.BatchIds.Count, services.Events.Of<DocumentsIngested>().Count(d => d.DatasetId == "repeat"));
        Assert.Equal(5, (await StoredTextsAsync("repeat")).Count);
    }

    [Fact]
    public async Task WithoutASeparatorOnlyTheSupportedFilesAreRead()
    {
        BuildCorpus.Write(_files.Path);

        await services.SendAsync(new IngestFilesRequested("b-plain", "plain", [_files.Path], null));

        var reply = (await services.WaitForAsync<FilesIngested>(f => f.BuildId == "b-plain"))[0];
        Assert.Equal(2, reply.Documents);
        Assert.Equal(["fortunes/wisdom", "photo.bin"], reply.SkippedFiles.Select(f => Path.GetRelativePath(_files.Path, f)).Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task AMissingPathFailsTheIngestStage()
    {
        var missing = Path.Combine(_files.Path, "no-such-folder");

        await services.SendAsync(new IngestFilesRequested("b-missing", "missing", [_files.Path, missing], "%"));

        var failure = (await services.WaitForAsync<BuildStageFailed>(f => f.BuildId == "b-missing"))[0];
        Assert.Equal("ingest", failure.Stage);
        Assert.Contains(missing, failure.Reason, StringComparison.Ordinal);
        Assert.DoesNotContain(services.Events.Of<FilesIngested>(), f => f.BuildId == "b-missing");
        Assert.Equal(0, await Store.Batches.CountAsync(b => b.DatasetId == "missing"));
    }

    [Fact]
    public async Task ABadDatasetIdIsRefusedByTheCommandAndTheEndpointAlike()
    {
        BuildCorpus.Write(_files.Path);

        await services.SendAsync(new IngestFilesRequested("b-bad-id", "Bad Id", [_files.Path], "%"));
        var refused = await services.Client.PostAsJsonAsync("/api/ingestion/datasets", new { id = "Bad Id" });

        var failure = (await services.WaitForAsync<BuildStageFailed>(f => f.BuildId == "b-bad-id"))[0];
        Assert.Equal("ingest", failure.Stage);
        Assert.Contains("datasetId", failure.Reason, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.UnprocessableEntity, refused.StatusCode);
    }

    [Fact]
    public async Task FilesThatHoldNoDocumentFailTheIngestStage()
    {
        File.WriteAllBytes(Path.Combine(_files.Path, "photo.bin"), [0x89, 0, 0, 0]);
        File.WriteAllText(Path.Combine(_files.Path, "empty.txt"), "\n\n");

        await services.SendAsync(new IngestFilesRequested("b-empty", "empty", [_files.Path], "%"));

        var failure = (await services.WaitForAsync<BuildStageFailed>(f => f.BuildId == "b-empty"))[0];
        Assert.Equal("ingest", failure.Stage);
        Assert.Contains("No documents", failure.Reason, StringComparison.Ordinal);
    }
}
