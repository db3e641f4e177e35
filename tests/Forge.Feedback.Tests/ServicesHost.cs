using System.Collections.Concurrent;
using System.Globalization;
using Forge.Contracts;
using Forge.Feedback.Domain;
using Forge.ServiceDefaults;
using Forge.Testing;
using MassTransit;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace Forge.Feedback.Tests;

/// <summary>
/// The feedback service in an in-process host on a free loopback port, on the in-memory bus and the embedded stores in
/// a temporary folder, wired as its host wires it. It records the events the service publishes, can publish
/// generations as the inference service would, and runs on a clock the tests can move.
/// </summary>
public sealed class ServicesHost : IAsyncLifetime
{
    private readonly TemporaryFolder _data = new("feedback");
    private readonly ConsumedGenerations _consumed = new();
    private WebApplication? _app;
    private LoopbackApp? _host;

    public HttpClient Client => _host!.Client;
    public PublishedEvents Events { get; } = new();
    public TestClock Clock { get; } = new();
    public IServiceProvider Services => _app?.Services ?? throw new InvalidOperationException("Not started.");
    public FeedbackStore Store => Services.GetRequiredService<FeedbackStore>();

    public async Task InitializeAsync()
    {
        var builder = LoopbackApp.CreateBuilder(_data.Path, new Dictionary<string, string?>
        {
            ["Forge:MaxRequestBodyBytes"] = (1024 * 1024).ToString(CultureInfo.InvariantCulture),
        });
        builder.Services.AddSingleton(Events);
        builder.Services.AddSingleton<TimeProvider>(Clock);
        builder.AddServiceDefaults();
        builder.AddFeedback();
        builder.AddForgeBus(bus =>
        {
            bus.AddFeedbackConsumers();
            bus.AddConsumer<EventRecorder>();
        });
        _app = builder.Build();
        _app.MapDefaultEndpoints();
        _app.MapFeedbackApi();
        _host = await LoopbackApp.StartAsync(_app);
        Services.GetRequiredService<IBus>().ConnectConsumeMessageObserver(_consumed);
    }

    /// <summary>Publishes GenerationCompleted as the inference service does, without waiting for the feedback service to store it.</summary>
    public Task PublishGenerationAsync(GenerationCompleted generation) => Services.GetRequiredService<IBus>().Publish(generation);

    /// <summary>Publishes a generation and waits until the feedback service has consumed it; returns its id.</summary>
    public async Task<string> GenerateAsync(string model, string version, string prompt, string output, IReadOnlyList<ChatTurn>? messages = null)
    {
        var generation = Generation(model, version, prompt, output, messages);
        await PublishGenerationAsync(generation);
        await WaitConsumedAsync(generation.GenerationId, times: 1);
        return generation.GenerationId;
    }

    public GenerationCompleted Generation(string model, string version, string prompt, string output, IReadOnlyList<ChatTurn>? messages = null) => new(
        Guid.NewGuid().ToString("N"),
        model,
        version,
        messages is null ? "completion" : "chat",
        prompt,
        messages ?? [],
        output,
        new SamplingSettings(0.8, 40, 0.95, 7, 64, ["\n\n"]),
        5,
        9,
        "stop",
        "key-1",
        Clock.GetUtcNow().UtcDateTime);

    /// <summary>Waits until the feedback service has consumed GenerationCompleted for this id (at least) this many times.</summary>
    public Task WaitConsumedAsync(string generationId, int times) =>
        Eventually.WaitAsync(() => Task.FromResult(_consumed.Count(generationId)), count => count >= times, TimeSpan.FromSeconds(10), $"generation {generationId} consumed {times} times");

    public async Task DisposeAsync()
    {
        if (_host is not null)
            await _host.DisposeAsync();
        _data.Dispose();
    }
}

/// <summary>How often each generation's event finished being consumed (only the feedback service consumes GenerationCompleted here).</summary>
public sealed class ConsumedGenerations : IConsumeMessageObserver<GenerationCompleted>
{
    private readonly ConcurrentDictionary<string, int> _counts = new();

    public int Count(string generationId) => _counts.GetValueOrDefault(generationId);

    public Task PreConsume(ConsumeContext<GenerationCompleted> context) => Task.CompletedTask;

    public Task PostConsume(ConsumeContext<GenerationCompleted> context)
    {
        _counts.AddOrUpdate(context.Message.GenerationId, 1, (_, count) => count + 1);
        return Task.CompletedTask;
    }

    public Task ConsumeFault(ConsumeContext<GenerationCompleted> context, Exception exception) => Task.CompletedTask;
}

/// <summary>Every event the feedback service published on the host's bus, in arrival order.</summary>
public sealed class PublishedEvents
{
    private readonly ConcurrentQueue<object> _events = new();

    public void Add(object message) => _events.Enqueue(message);

    public IReadOnlyList<T> Of<T>() => _events.OfType<T>().ToList();
}

public sealed class EventRecorder(PublishedEvents events) : IConsumer<FeedbackReceived>, IConsumer<RetrainingRequested>
{
    public Task Consume(ConsumeContext<FeedbackReceived> context) => Record(context.Message);
    public Task Consume(ConsumeContext<RetrainingRequested> context) => Record(context.Message);

    private Task Record(object message)
    {
        events.Add(message);
        return Task.CompletedTask;
    }
}

/// <summary>
/// The system clock until a test sets it; once set, every reading is one second after the previous one, so feedback
/// stored one after another has distinct, ordered times, and a test can move it to another day.
/// </summary>
public sealed class TestClock : TimeProvider
{
    private readonly Lock _gate = new();
    private DateTimeOffset? _now;

    public void Set(DateTimeOffset now)
    {
        lock (_gate)
            _now = now;
    }

    public override DateTimeOffset GetUtcNow()
    {
        lock (_gate)
        {
            if (_now is not { } now)
                return base.GetUtcNow();
            _now = now.AddSeconds(1);
            return now;
        }
    }
}
