using System.Collections.Concurrent;
using System.Text;
using Forge.Contracts;
using MassTransit;
using Forge.ServiceDefaults;
using Forge.Storage.Artifacts;
using Forge.Testing;
using Forge.Tokenization;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;

namespace Forge.Trainer.Tests;

/// <summary>The trainer service in this process on a free loopback port, with the embedded stores, and token shards it makes itself.</summary>
public sealed class TrainerHost : IAsyncLifetime
{
    public const string Corpus = "the quick brown fox jumps over the lazy dog. a stitch in time saves nine. ";
    private readonly TemporaryFolder _data = new("trainer");
    private WebApplication? _app;
    private LoopbackApp? _host;

    public HttpClient Client => _host!.Client;

    /// <summary>Every TrainingRunRejected the service published.</summary>
    public ConcurrentQueue<TrainingRunRejected> Rejections { get; } = new();

    /// <summary>Every TrainingRunCompleted and TrainingRunFailed the service published.</summary>
    public RunOutcomes Outcomes { get; } = new();

    public IArtifactStore Artifacts => _app!.Services.GetRequiredService<IArtifactStore>();
    public IBus Bus => _app!.Services.GetRequiredService<IBus>();
    public IServiceProvider Services => _app!.Services;

    public async Task InitializeAsync()
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = [] });
        builder.Configuration["Urls"] = "http://127.0.0.1:0";
        builder.Configuration["Forge:DataPath"] = _data.Path;
        builder.Configuration["Trainer:HeartbeatInterval"] = "00:00:00.200";
        builder.Configuration["Trainer:SweepInterval"] = "00:00:00.500";
        builder.Configuration["Trainer:Threads"] = "1";
        builder.Configuration["Trainer:WorkFolder"] = Path.Combine(_data.Path, "work");
        builder.AddServiceDefaults();
        builder.AddTrainer();
        builder.Services.AddSingleton(Rejections);
        builder.Services.AddSingleton(Outcomes);
        builder.AddForgeBus(bus =>
        {
            bus.AddTrainerConsumers();
            bus.AddConsumer<RecordRejectionConsumer>();
            bus.AddConsumer<RecordOutcomeConsumer>();
        });
        _app = builder.Build();
        _app.MapDefaultEndpoints();
        _app.MapTrainerApi();
        _host = await LoopbackApp.StartAsync(_app, TimeSpan.FromSeconds(60));
    }

    /// <summary>The corpus's characters, in id order: the vocabulary of the shards and of <see cref="UploadTokenizerAsync"/>.</summary>
    public static IReadOnlyList<char> Alphabet { get; } = [.. Corpus.Distinct().Order()];

    /// <summary>A character-level shard of the corpus repeated, uploaded under <paramref name="key"/>.</summary>
    public async Task<string> UploadShardAsync(string key, int repeats, string tokenizerId = "chars-test")
    {
        var text = string.Concat(Enumerable.Repeat(Corpus, repeats));
        var alphabet = Alphabet.ToList();
        using var buffer = new MemoryStream();
        using (var writer = new TokenShardWriter(buffer, alphabet.Count, alphabet.IndexOf(' '), tokenizerId))
        {
            writer.AppendDocument(text.Select(c => alphabet.IndexOf(c)).ToArray());
            writer.Complete();
        }
        await Artifacts.PutBytesAsync(key, buffer.ToArray());
        return key;
    }

    /// <summary>The character tokenizer of the shards, stored where the tokenizer service would store it.</summary>
    public async Task UploadTokenizerAsync(string tokenizerId = "chars-test")
    {
        using var json = new MemoryStream();
        new CharTokenizer(Alphabet.Select(c => new Rune(c))).Write(json);
        await Artifacts.PutBytesAsync($"tokenizers/{tokenizerId}/char-tokenizer.json", json.ToArray());
    }

    public async Task DisposeAsync()
    {
        if (_host is not null)
            await _host.DisposeAsync();
        _data.Dispose();
    }
}

/// <summary>The runs that ended, as the trainer announced them.</summary>
public sealed class RunOutcomes
{
    public ConcurrentQueue<TrainingRunCompleted> Completed { get; } = new();
    public ConcurrentQueue<TrainingRunFailed> Failed { get; } = new();
}

public sealed class RecordOutcomeConsumer(RunOutcomes outcomes) : IConsumer<TrainingRunCompleted>, IConsumer<TrainingRunFailed>
{
    public Task Consume(ConsumeContext<TrainingRunCompleted> context)
    {
        outcomes.Completed.Enqueue(context.Message);
        return Task.CompletedTask;
    }

    public Task Consume(ConsumeContext<TrainingRunFailed> context)
    {
        outcomes.Failed.Enqueue(context.Message);
        return Task.CompletedTask;
    }
}

public sealed class RecordRejectionConsumer(ConcurrentQueue<TrainingRunRejected> rejections) : IConsumer<TrainingRunRejected>
{
    public Task Consume(ConsumeContext<TrainingRunRejected> context)
    {
        rejections.Enqueue(context.Message);
        return Task.CompletedTask;
    }
}
