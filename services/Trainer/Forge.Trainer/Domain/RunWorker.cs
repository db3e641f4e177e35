using Forge.Storage.Artifacts;
using MassTransit;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Forge.Trainer.Domain;

/// <summary>
/// The trainer replica's scheduler: whenever it has room (JobLimit) it claims queued runs and runs whose lease
/// expired, and trains each on a thread of its own. StartTrainingRun only wakes it early; the sweep every
/// SweepInterval is what guarantees that a run is taken, even when its message was consumed by a trainer that died.
/// </summary>
public sealed class RunWorker(TrainerStore store, RunLeases leases, FineTunes fineTunes, IArtifactStore artifacts, IBus bus, TrainerOptions options, TimeProvider clock, ILoggerFactory loggers) : BackgroundService
{
    private readonly ILogger _logger = loggers.CreateLogger<RunWorker>();
    private readonly SemaphoreSlim _wake = new(0);
    private readonly Dictionary<string, Task> _active = [];
    private readonly Lock _activeGate = new();

    public int ActiveRuns
    {
        get { lock (_activeGate) return _active.Count; }
    }

    public void Wake() => _wake.Release();

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await store.EnsureIndexesAsync(stoppingToken);
        _logger.LogInformation("Trainer {Trainer} ready for {JobLimit} runs at a time", options.Replica, options.JobLimit);
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await SweepAsync(stoppingToken);
            }
            catch (Exception e) when (!stoppingToken.IsCancellationRequested)
            {
                _logger.LogWarning(e, "Trainer sweep failed; trying again");
            }
            try
            {
                await _wake.WaitAsync(options.SweepInterval, stoppingToken);
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }
        Task[] running;
        lock (_activeGate)
            running = [.. _active.Values];
        await Task.WhenAll(running);
    }

    private async Task SweepAsync(CancellationToken stoppingToken)
    {
        if (ActiveRuns >= options.JobLimit)
            return;
        foreach (var candidate in await leases.ClaimableAsync(stoppingToken))
        {
            if (ActiveRuns >= options.JobLimit)
                return;
            lock (_activeGate)
            {
                if (_active.ContainsKey(candidate.Id))
                    continue;
            }
            if (await leases.TryClaimAsync(candidate, stoppingToken) is not { } claimed)
                continue;
            Start(claimed, stoppingToken);
        }
    }

    private void Start(TrainingRun claimed, CancellationToken stoppingToken)
    {
        var execution = new RunExecution(leases, new ArtifactCheckpoints(artifacts, options), fineTunes, bus, options, clock, loggers.CreateLogger<RunExecution>());
        // A thread of its own: a training step holds its thread for its whole duration.
        var task = Task.Factory.StartNew(() => execution.ExecuteAsync(claimed, stoppingToken), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default).Unwrap();
        lock (_activeGate)
            _active[claimed.Id] = task;
        _ = task.ContinueWith(_ =>
        {
            lock (_activeGate)
                _active.Remove(claimed.Id);
            Wake();
        }, TaskScheduler.Default);
    }

    public override void Dispose()
    {
        _wake.Dispose();
        base.Dispose();
    }
}
