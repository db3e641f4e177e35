using System.Collections.Concurrent;
using Forge.Cleaning;
using Forge.Contracts;
using Forge.Ingestion;
using Forge.ServiceDefaults;
using Forge.Testing;
using Forge.Tokenizer;
using MassTransit;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace Forge.Services.Tests;

/// <summary>
/// The ingestion, cleaning and tokenizer services in one in-process host on a free loopback port, on the in-memory bus
/// and the embedded stores in a temporary folder, wired as the embedded host wires them. It sends the commands an
/// orchestrator sends during a build and records what the services answer. Batches are small (two documents) and the
/// waits for cleaning and for unknown dataset versions short, so the tests see several batches and the waits end.
/// </summary>
public sealed class BuildServicesHost : IAsyncLifetime
{
    public static readonly TimeSpan Wait = TimeSpan.FromSeconds(3);
    private readonly TemporaryFolder _data = new("build-commands");
    private WebApplication? _app;
    private LoopbackApp? _host;

    public HttpClient Client => _host!.Client;
    public RecordedEvents Events { get; } = new();
    public IServiceProvider Services => _app?.Services ?? throw new InvalidOperationException("Not started.");

    public async Task InitializeAsync()
    {
        var builder = LoopbackApp.CreateBuilder(_data.Path, new Dictionary<string, string?>
        {
            ["Ingestion:BatchDocuments"] = "2",
            ["Builds:SealWait"] = Wait.ToString(),
            ["Builds:SealRetryInterval"] = "00:00:00.100",
            ["Builds:VersionWait"] = Wait.ToString(),
            ["Builds:VersionRetryInterval"] = "00:00:00.100",
        });
        builder.Services.AddSingleton(Events);
        builder.AddServiceDefaults();
        builder.AddIngestion();
        builder.AddCleaning();
        builder.AddTokenizer();
        builder.AddForgeBus(bus =>
        {
            bus.AddIngestionConsumers();
            bus.AddCleaningConsumers();
            bus.AddTokenizerConsumers();
            bus.AddConsumer<EventRecorder>();
        });
        _app = builder.Build();
        _app.MapDefaultEndpoints();
        _app.MapIngestionApi();
        _app.MapCleaningApi();
        _app.MapTokenizerApi();
        _host = await LoopbackApp.StartAsync(_app);
    }

    /// <summary>Sends a build's command as the orchestrator does (published as its own type).</summary>
    public Task SendAsync(object command) => Services.GetRequiredService<IBus>().Publish(command, command.GetType());

    /// <summary>Waits until at least <paramref name="count"/> recorded events of type T match, and returns them all.</summary>
    public Task<IReadOnlyList<T>> WaitForAsync<T>(Func<T, bool> match, int count = 1, TimeSpan? timeout = null) =>
        Eventually.WaitAsync(
            () => Task.FromResult<IReadOnlyList<T>>([.. Events.Of<T>().Where(match)]),
            found => found.Count >= count,
            timeout ?? TimeSpan.FromSeconds(60),
            $"{count} {typeof(T).Name}");

    /// <summary>
    /// A build's first stage by command: cleaning settings without the quality filters (the corpus's documents are
    /// short), then the corpus's files. Returns the reply; cleaning goes on by itself.
    /// </summary>
    public async Task<FilesIngested> IngestCorpusAsync(string buildId, string datasetId, string folder)
    {
        BuildCorpus.Write(folder);
        await SendAsync(new CleaningSettingsRequested(buildId, datasetId, """{"qualityFilters": false}"""));
        await WaitForAsync<CleaningSettingsApplied>(a => a.BuildId == buildId);
        await SendAsync(new IngestFilesRequested(buildId, datasetId, [folder], "%"));
        return (await WaitForAsync<FilesIngested>(f => f.BuildId == buildId))[0];
    }

    public Task WaitForCleaningAsync(FilesIngested files) =>
        Eventually.WaitAsync(
            () => Task.FromResult(Events.Of<ShardCleaned>().Select(s => s.BatchId).Intersect(files.BatchIds).Count()),
            cleaned => cleaned == files.BatchIds.Count,
            TimeSpan.FromSeconds(60),
            $"the {files.BatchIds.Count} batches of {files.DatasetId} cleaned");

    /// <summary>Seals the build's dataset by command and returns the announcement.</summary>
    public async Task<DatasetVersionSealed> SealAsync(FilesIngested files)
    {
        await SendAsync(new SealDatasetRequested(files.BuildId, files.DatasetId, files.BatchIds, 0.2));
        return (await WaitForAsync<DatasetVersionSealed>(v => v.DatasetId == files.DatasetId))[0];
    }

    public async Task DisposeAsync()
    {
        if (_host is not null)
            await _host.DisposeAsync();
        _data.Dispose();
    }
}

/// <summary>The events the services published, in arrival order.</summary>
public sealed class RecordedEvents
{
    private readonly ConcurrentQueue<object> _events = new();

    public void Add(object message) => _events.Enqueue(message);

    public IReadOnlyList<T> Of<T>() => [.. _events.OfType<T>()];
}

public sealed class EventRecorder(RecordedEvents events) :
    IConsumer<FilesIngested>, IConsumer<DocumentsIngested>, IConsumer<CleaningSettingsApplied>, IConsumer<ShardCleaned>, IConsumer<DatasetVersionSealed>,
    IConsumer<TokenizerTrained>, IConsumer<DatasetTokenized>, IConsumer<BuildStageFailed>
{
    public Task Consume(ConsumeContext<FilesIngested> context) => Record(context.Message);
    public Task Consume(ConsumeContext<DocumentsIngested> context) => Record(context.Message);
    public Task Consume(ConsumeContext<CleaningSettingsApplied> context) => Record(context.Message);
    public Task Consume(ConsumeContext<ShardCleaned> context) => Record(context.Message);
    public Task Consume(ConsumeContext<DatasetVersionSealed> context) => Record(context.Message);
    public Task Consume(ConsumeContext<TokenizerTrained> context) => Record(context.Message);
    public Task Consume(ConsumeContext<DatasetTokenized> context) => Record(context.Message);
    public Task Consume(ConsumeContext<BuildStageFailed> context) => Record(context.Message);

    private Task Record(object message)
    {
        events.Add(message);
        return Task.CompletedTask;
    }
}
