using Forge.Contracts;
using Forge.Evaluator.Domain;
using Forge.Model;
using Forge.Orchestrator.Domain;
using Forge.Storage.Artifacts;
using Forge.Testing;
using Forge.Tokenization;
using MassTransit;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;

namespace Forge.Evaluator.Tests;

/// <summary>
/// The registry and the held-out evaluator when a process stops between a write and what follows it (the event, the
/// promotion attempt, the measurement): the stop is a publish that throws, as a killed process's would never happen,
/// or work a stopped evaluator left in the store. What was written is finished afterwards, by the redelivered message
/// or by the service's sweep, and announced once.
/// </summary>
public sealed class CrashRecoveryTests(ServicesHost services) : IClassFixture<ServicesHost>
{
    private static readonly TimeSpan SweepPatience = TimeSpan.FromSeconds(40);

    private static string UniqueModel(string stem) => $"{stem}-{Guid.NewGuid():N}"[..20];

    private static NewModelVersion Candidate(string model, IReadOnlyDictionary<string, Dictionary<string, double>>? metrics = null, bool autoPromote = true) =>
        new(model, "run-1", $"runs/{model}/checkpoints/step-1/manifest.json", "chars", ["notes@1"], metrics ?? new Dictionary<string, Dictionary<string, double>>(), autoPromote, "trainer");

    /// <summary>A registry whose process "stops" at the first publish of a <typeparamref name="T"/>.</summary>
    private ModelRegistry StoppingAt<T>() where T : class =>
        new(services.Services.GetRequiredService<RegistryStore>(), new StoppingPublisher<T>(services.Services.GetRequiredService<IBus>()), TimeProvider.System, NullLogger<ModelRegistry>.Instance);

    private async Task<T> WithRegistryAsync<T>(Func<ModelRegistry, Task<T>> use)
    {
        using var scope = services.Services.CreateScope();
        return await use(scope.ServiceProvider.GetRequiredService<ModelRegistry>());
    }

    private Task<ModelVersion?> VersionAsync(string id) => services.Services.GetRequiredService<RegistryStore>().Versions.GetAsync(id);

    [Fact]
    public async Task ARegistrationStoppedBeforeItsAnnouncementIsAnnouncedOnceByTheRedeliveredRequest()
    {
        var model = UniqueModel("announce");
        await Assert.ThrowsAsync<ProcessStoppedException>(() => StoppingAt<ModelVersionRegistered>().RegisterAsync(Candidate(model), CancellationToken.None));
        var stored = await VersionAsync($"{model}@1");
        Assert.True(stored!.AnnouncementPending);
        Assert.DoesNotContain(services.Events.Of<ModelVersionRegistered>(), e => e.Model == model);

        var (again, result) = await WithRegistryAsync(r => r.RegisterAsync(Candidate(model), CancellationToken.None));

        Assert.Equal(RegistrationResult.Existing, result);
        Assert.Equal($"{model}@1", again.Id);
        Assert.False(again.AnnouncementPending);
        await Eventually.WaitAsync(() => Task.FromResult(services.Events.Of<ModelVersionRegistered>().Count(e => e.Model == model)), n => n > 0, TimeSpan.FromSeconds(10), "the registration's announcement");
        // A third delivery announces nothing more.
        await WithRegistryAsync(r => r.RegisterAsync(Candidate(model), CancellationToken.None));
        await Task.Delay(500);
        Assert.Single(services.Events.Of<ModelVersionRegistered>(), e => e.Model == model);
    }

    [Fact]
    public async Task APromotionStoppedBeforeItsAnnouncementIsAppliedAndAnnouncedByTheSweep()
    {
        var model = UniqueModel("promote");
        var (version, _) = await WithRegistryAsync(r => r.RegisterAsync(Candidate(model), CancellationToken.None));

        await Assert.ThrowsAsync<ProcessStoppedException>(() => StoppingAt<ModelPromoted>().RecordMetricsAsync(version.Id, "qa", new Dictionary<string, double> { ["bleu"] = 30 }, "eval-1", CancellationToken.None));
        var family = await services.Services.GetRequiredService<RegistryStore>().Families.GetAsync(model);
        Assert.Equal(version.Id, family!.PromotedVersionId);
        Assert.True(family.LastChange!.AnnouncementPending);
        Assert.DoesNotContain(services.Events.Of<ModelPromoted>(), e => e.ModelVersionId == version.Id);

        // No message comes back for this one (as for a manual promotion): the registry's sweep finishes it.
        var promoted = await Eventually.WaitAsync(() => Task.FromResult(services.Events.Of<ModelPromoted>().Where(e => e.ModelVersionId == version.Id).ToList()),
            events => events.Count > 0, SweepPatience, "the sweep to announce the promotion");
        Assert.Equal(version.Id, Assert.Single(promoted).ModelVersionId);
        var after = await Eventually.WaitAsync(() => VersionAsync(version.Id), v => v!.PendingPromotion is null, SweepPatience, "the promotion attempt to be marked done");
        Assert.Equal(ModelState.Promoted, after!.State);
        Assert.False((await services.Services.GetRequiredService<RegistryStore>().Families.GetAsync(model))!.LastChange!.AnnouncementPending);
    }

    [Fact]
    public async Task MetricsRecordedJustBeforeAStopStillGetTheirPromotionAttemptWhenTheEvaluationIsRedelivered()
    {
        var model = UniqueModel("attempt");
        var (version, _) = await WithRegistryAsync(r => r.RegisterAsync(Candidate(model), CancellationToken.None));
        // What a stop right after the metrics write leaves: the metrics, and the attempt still owed.
        var store = services.Services.GetRequiredService<RegistryStore>();
        var current = (await store.Versions.GetAsync(version.Id))!;
        var measured = new EvalSetMetrics { EvalSet = "qa", Values = new() { ["bleu"] = 30 }, EvaluationId = "eval-1", MeasuredAt = DateTime.UtcNow };
        Assert.True(await store.Versions.TryReplaceAsync(
            current with { Metrics = [measured], PendingPromotion = new PendingPromotion { Reason = "auto-promotion after metrics on qa", Since = DateTime.UtcNow }, Revision = current.Revision + 1 },
            v => v.Revision == current.Revision));

        var redelivered = await WithRegistryAsync(r => r.RecordMetricsAsync(version.Id, "qa", new Dictionary<string, double> { ["bleu"] = 30 }, "eval-1", CancellationToken.None));

        Assert.Equal(ModelState.Promoted, redelivered!.State);
        Assert.Null(redelivered.PendingPromotion);
        Assert.Single(redelivered.Metrics);
    }

    [Fact]
    public async Task AHeldOutMeasurementAStoppedEvaluatorLeftIsMeasuredAnnouncedAndRecorded()
    {
        var model = UniqueModel("heldout");
        var artifacts = services.Services.GetRequiredService<IArtifactStore>();
        var checkpointKey = await TinyModel.UploadAsync(artifacts, $"runs/{model}/checkpoints/step-1");
        var shardKey = $"tokens/{model}/validation-00000.bin";
        await artifacts.PutBytesAsync(shardKey, TinyModel.Shard(400));
        var (version, _) = await WithRegistryAsync(r => r.RegisterAsync(
            Candidate(model) with { CheckpointKey = checkpointKey, ValidationShards = [shardKey] }, CancellationToken.None));

        // The evaluator accepted the registration (stored the work) and stopped; the running one finds the work.
        var store = services.Services.GetRequiredService<EvaluatorStore>();
        await store.HeldOutMeasurements.TryInsertAsync(new HeldOutMeasurement { Id = version.Id, CheckpointKey = checkpointKey, TokenizerId = "chars", ValidationShards = [shardKey], RequestedAt = DateTime.UtcNow });

        var recorded = await Eventually.WaitAsync(() => VersionAsync(version.Id), v => v!.Metric(HeldOutEvaluator.EvalSet, "loss") is not null, SweepPatience, "the held-out loss to reach the registry");
        var loss = recorded!.Metric(HeldOutEvaluator.EvalSet, "loss")!.Value;
        Assert.InRange(loss, 0.5 * Math.Log(TinyModel.Vocabulary), 2 * Math.Log(TinyModel.Vocabulary)); // an untrained model: about ln(vocabulary)
        Assert.Equal(ModelState.Promoted, (await Eventually.WaitAsync(() => VersionAsync(version.Id), v => v!.State == ModelState.Promoted, SweepPatience, "the auto-promotion"))!.State);
        Assert.Null(await Eventually.WaitAsync(() => store.HeldOutMeasurements.GetAsync(version.Id), m => m is null, SweepPatience, "the stored work to be deleted"));
        Assert.Single(services.Events.Of<EvaluationCompleted>(), e => e.ModelVersionId == version.Id);
    }

    [Fact]
    public async Task AHeldOutMeasurementThatKeepsFailingIsGivenUpAfterItsLastAttempt()
    {
        var model = UniqueModel("missing");
        var store = services.Services.GetRequiredService<EvaluatorStore>();
        await store.HeldOutMeasurements.TryInsertAsync(new HeldOutMeasurement
        {
            Id = $"{model}@1",
            CheckpointKey = $"runs/{model}/checkpoints/step-1/manifest.json",
            TokenizerId = "chars",
            ValidationShards = [$"tokens/{model}/validation-00000.bin"],
            RequestedAt = DateTime.UtcNow,
            Attempts = HeldOutEvaluator.MaxAttempts - 1,
        });

        Assert.Null(await Eventually.WaitAsync(() => store.HeldOutMeasurements.GetAsync($"{model}@1"), m => m is null, SweepPatience, "the last attempt to give the work up"));
        Assert.Null(await store.Evaluations.GetAsync(HeldOutEvaluator.EvaluationIdOf($"{model}@1")));
    }
}

/// <summary>Thrown where a process would have stopped: nothing after it in that call happens.</summary>
public sealed class ProcessStoppedException(string message) : Exception(message);

/// <summary>Publishes through <paramref name="inner"/>, except a <typeparamref name="TStop"/>: there the "process" stops.</summary>
public sealed class StoppingPublisher<TStop>(IPublishEndpoint inner) : IPublishEndpoint where TStop : class
{
    private static Task Check(object message) =>
        message is TStop ? throw new ProcessStoppedException($"stopped before publishing {typeof(TStop).Name}") : Task.CompletedTask;

    public async Task Publish<T>(T message, CancellationToken cancellationToken = default) where T : class
    {
        await Check(message);
        await inner.Publish(message, cancellationToken);
    }

    public async Task Publish<T>(T message, IPipe<PublishContext<T>> publishPipe, CancellationToken cancellationToken = default) where T : class
    {
        await Check(message);
        await inner.Publish(message, publishPipe, cancellationToken);
    }

    public async Task Publish<T>(T message, IPipe<PublishContext> publishPipe, CancellationToken cancellationToken = default) where T : class
    {
        await Check(message);
        await inner.Publish(message, publishPipe, cancellationToken);
    }

    public async Task Publish(object message, CancellationToken cancellationToken = default)
    {
        await Check(message);
        await inner.Publish(message, cancellationToken);
    }

    public async Task Publish(object message, IPipe<PublishContext> publishPipe, CancellationToken cancellationToken = default)
    {
        await Check(message);
        await inner.Publish(message, publishPipe, cancellationToken);
    }

    public async Task Publish(object message, Type messageType, CancellationToken cancellationToken = default)
    {
        await Check(message);
        await inner.Publish(message, messageType, cancellationToken);
    }

    public async Task Publish(object message, Type messageType, IPipe<PublishContext> publishPipe, CancellationToken cancellationToken = default)
    {
        await Check(message);
        await inner.Publish(message, messageType, publishPipe, cancellationToken);
    }

    public Task Publish<T>(object values, CancellationToken cancellationToken = default) where T : class => inner.Publish<T>(values, cancellationToken);

    public Task Publish<T>(object values, IPipe<PublishContext<T>> publishPipe, CancellationToken cancellationToken = default) where T : class =>
        inner.Publish(values, publishPipe, cancellationToken);

    public Task Publish<T>(object values, IPipe<PublishContext> publishPipe, CancellationToken cancellationToken = default) where T : class =>
        inner.Publish<T>(values, publishPipe, cancellationToken);

    public ConnectHandle ConnectPublishObserver(IPublishObserver observer) => inner.ConnectPublishObserver(observer);
}
