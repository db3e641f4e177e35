using System.Collections.Concurrent;
using System.Globalization;
using Forge.Contracts;
using Forge.Evaluator;
using Forge.Orchestrator;
using Forge.ServiceDefaults;
using Forge.Testing;
using MassTransit;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace Forge.Evaluator.Tests;

/// <summary>
/// The evaluator and orchestrator services in one in-process host on a free loopback port, on the in-memory bus and
/// the embedded stores in a temporary folder, wired as their hosts wire them; it also records the events they publish.
/// </summary>
public sealed class ServicesHost : IAsyncLifetime
{
    public const long BodyLimit = 1024 * 1024;
    private readonly TemporaryFolder _data = new("evaluator");
    private WebApplication? _app;
    private LoopbackApp? _host;

    public HttpClient Client => _host!.Client;
    public PublishedEvents Events { get; } = new();
    public string ArtifactsPath => Path.Combine(_data.Path, "artifacts");
    public IServiceProvider Services => _app?.Services ?? throw new InvalidOperationException("Not started.");

    public async Task InitializeAsync()
    {
        var builder = LoopbackApp.CreateBuilder(_data.Path, new Dictionary<string, string?>
        {
            ["Forge:MaxRequestBodyBytes"] = BodyLimit.ToString(CultureInfo.InvariantCulture),
        });
        builder.Services.AddSingleton(Events);
        builder.AddServiceDefaults();
        builder.AddEvaluator();
        builder.AddOrchestrator();
        builder.AddForgeBus(bus =>
        {
            bus.AddOrchestratorConsumers();
            bus.AddConsumer<EventRecorder>();
        });
        _app = builder.Build();
        _app.MapDefaultEndpoints();
        _app.MapEvaluatorApi();
        _app.MapOrchestratorApi();
        _host = await LoopbackApp.StartAsync(_app);
    }

    public async Task DisposeAsync()
    {
        if (_host is not null)
            await _host.DisposeAsync();
        _data.Dispose();
    }
}

/// <summary>Every registry and evaluator event published on the host's bus, in arrival order.</summary>
public sealed class PublishedEvents
{
    private readonly ConcurrentQueue<object> _events = new();

    public void Add(object message) => _events.Enqueue(message);

    public IReadOnlyList<T> Of<T>() => _events.OfType<T>().ToList();
}

public sealed class EventRecorder(PublishedEvents events) :
    IConsumer<ModelVersionRegistered>, IConsumer<ModelPromoted>, IConsumer<PromotionRefused>, IConsumer<ModelRolledBack>, IConsumer<EvaluationCompleted>
{
    public Task Consume(ConsumeContext<ModelVersionRegistered> context) => Record(context.Message);
    public Task Consume(ConsumeContext<ModelPromoted> context) => Record(context.Message);
    public Task Consume(ConsumeContext<PromotionRefused> context) => Record(context.Message);
    public Task Consume(ConsumeContext<ModelRolledBack> context) => Record(context.Message);
    public Task Consume(ConsumeContext<EvaluationCompleted> context) => Record(context.Message);

    private Task Record(object message)
    {
        events.Add(message);
        return Task.CompletedTask;
    }
}
