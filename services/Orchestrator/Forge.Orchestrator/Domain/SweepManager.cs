using System.Globalization;
using System.Text.Json;
using Forge.Contracts;
using MassTransit;
using Microsoft.Extensions.Logging;

namespace Forge.Orchestrator.Domain;

/// <summary>
/// The sweep process manager: sends each trial to the trainers as a pretraining run, follows the runs' evaluations and
/// ends, stops weak trials by the sweep's pruning rule, and once every trial has ended registers the best as a candidate
/// of the sweep's model. Its state lives in the sweep document (compare-and-swap), so after a restart
/// <see cref="ResumeAsync"/> carries a sweep on; the trainer's handlers are idempotent on the run id.
/// <para>
/// Trials are sent one after another, each once the trainer has announced the one before (StartTrainingRun): a refusal
/// (BuildStageFailed names the sweep, not the run) is then always the one trial awaiting its answer. The trainer
/// answers in milliseconds, so in effect every trial is queued at once (or MaxConcurrent of them), and each trainer
/// replica takes as many as its job limit lets it, in the order they were sent.
/// </para>
/// </summary>
public sealed class SweepManager(SweepStore store, ModelRegistry registry, IPublishEndpoint publisher, TimeProvider clock, ILogger<SweepManager> logger)
{
    /// <summary>Trial runs are named with this prefix, so that the registry does not register them as models on completion.</summary>
    public const string TrialRunNamePrefix = "sweep-trial:";

    private const int MaxAttempts = 100;

    public static bool IsTrialRun(string runName) => runName.StartsWith(TrialRunNamePrefix, StringComparison.Ordinal);

    /// <summary>The sweep a trial's run belongs to: run ids are <c>{sweepId}-t{n}</c>.</summary>
    public static string? SweepIdOf(string runId)
    {
        var cut = runId.LastIndexOf("-t", StringComparison.Ordinal);
        return cut > 0 && cut + 2 < runId.Length && runId[(cut + 2)..].All(char.IsAsciiDigit) ? runId[..cut] : null;
    }

    public async Task<Sweep> StartAsync(NewSweep request, IReadOnlyList<PlannedTrial> planned, CancellationToken cancellationToken)
    {
        var now = Now();
        var id = $"sweep-{Guid.CreateVersion7():N}"[..26];
        var sweep = new Sweep
        {
            Id = id,
            Name = request.Name,
            TokenizerId = request.TokenizerId,
            DatasetVersion = request.DatasetVersion,
            TrainShards = [.. request.TrainShards],
            ValidationShards = [.. request.ValidationShards],
            Strategy = request.Strategy,
            Seed = request.Seed,
            ParametersJson = request.ParametersJson,
            Pruning = request.Pruning,
            MaxConcurrent = request.MaxConcurrent,
            State = SweepState.Running,
            CreatedAt = now,
            UpdatedAt = now,
            Trials = [.. planned.Select((t, i) => new SweepTrial
            {
                Number = i + 1,
                RunId = $"{id}-t{i + 1}",
                Settings = [.. t.Settings],
                ModelJson = JsonSerializer.Serialize(t.Model, BuildManager.ConfigJson),
                TrainingJson = JsonSerializer.Serialize(t.Training, BuildManager.ConfigJson),
                MaxSteps = t.Training.MaxSteps,
            })],
        };
        await store.Sweeps.TryInsertAsync(sweep, cancellationToken);
        logger.LogInformation("Sweep {SweepId} of {Model} started: {Trials} trials ({Strategy}, pruning {Rule})", id, sweep.Name, sweep.Trials.Count, sweep.Strategy, sweep.Pruning.Rule);
        await DispatchAsync(id, cancellationToken);
        return sweep;
    }

    /// <summary>Applies <paramref name="change"/> by compare-and-swap; null from it changes nothing.</summary>
    public async Task<Sweep?> UpdateAsync(string sweepId, Func<Sweep, Sweep?> change, CancellationToken cancellationToken)
    {
        for (var attempt = 0; attempt < MaxAttempts; attempt++)
        {
            if (await store.Sweeps.GetAsync(sweepId, cancellationToken) is not { } current)
                return null;
            if (change(current) is not { } next)
                return null;
            var revision = current.Revision;
            next = next with { Revision = revision + 1, UpdatedAt = Now() };
            if (await store.Sweeps.TryReplaceAsync(next, s => s.Revision == revision, cancellationToken))
                return next;
        }
        throw new InvalidOperationException($"Sweep {sweepId} kept changing under {MaxAttempts} attempts to update it.");
    }

    /// <summary>
    /// Records what an event says about the trial of <paramref name="runId"/>, then does what follows from it: stops the
    /// trial when the record pruned it (and again while a stopping run still reports), sends the next trial, and finishes
    /// the sweep once every trial has ended.
    /// </summary>
    public async Task ApplyAsync(string runId, Func<Sweep, SweepTrial, SweepTrial?> record, CancellationToken cancellationToken)
    {
        if (SweepIdOf(runId) is not { } sweepId)
            return;
        SweepTrial? before = null;
        var updated = await UpdateAsync(sweepId, s =>
        {
            before = s.Trial(runId);
            return before is not null && record(s, before) is { } after ? s.With(after) : null;
        }, cancellationToken);
        if (updated?.Trial(runId) is not { } trial || before is null)
            return;
        if (trial.State == TrialState.Pruned && before.State != TrialState.Pruned)
            logger.LogInformation("Sweep {SweepId}: trial {Trial} pruned at step {Step}: {Reason}", sweepId, trial.Number, trial.Evaluations.Count > 0 ? trial.Evaluations.Max(e => e.Step) : 0, trial.Detail);
        // Asked again whenever a stopping run reports progress: a request that reached the trainer before the run existed,
        // or that a concurrent write of the run's record overwrote, would otherwise let it train to its last step.
        var stopping = trial.State is (TrialState.Pruned or TrialState.Cancelled) && !trial.RunEnded;
        if (stopping && (before.State != trial.State || trial.Accepted && !before.Accepted || trial.Step > before.Step))
            await publisher.Publish(new CancelTrainingRunRequested(runId, trial.State == TrialState.Pruned ? $"pruned by sweep {sweepId}" : $"sweep {sweepId} was cancelled"), cancellationToken);
        if (trial.Accepted != before.Accepted || trial.RunEnded != before.RunEnded)
            await DispatchAsync(sweepId, cancellationToken);
    }

    /// <summary>A refusal from the trainer: it belongs to the one trial sent and not yet announced.</summary>
    public async Task RefusedAsync(string sweepId, string reason, CancellationToken cancellationToken)
    {
        var updated = await UpdateAsync(sweepId, s => AwaitingAnswer(s) is { } trial
            ? s.With(trial with { State = trial.State == TrialState.Queued ? TrialState.Failed : trial.State, RunEnded = true, Detail = reason, FinishedAt = Now() })
            : null, cancellationToken);
        if (updated is null)
            return;
        logger.LogWarning("Sweep {SweepId}: the trainer refused a trial: {Reason}", sweepId, reason);
        await DispatchAsync(sweepId, cancellationToken);
    }

    /// <summary>Sends the next trial when it is its turn, or finishes the sweep when every trial has ended.</summary>
    public async Task DispatchAsync(string sweepId, CancellationToken cancellationToken)
    {
        var sent = await UpdateAsync(sweepId, s => NextToSend(s) is { } next ? s.With(next with { Attempts = next.Attempts + 1 }) : null, cancellationToken);
        if (sent is not null && AwaitingAnswer(sent) is { } trial)
        {
            await SendAsync(sent, trial, cancellationToken);
            return;
        }
        if (await store.Sweeps.GetAsync(sweepId, cancellationToken) is { State: SweepState.Running } sweep && sweep.Trials.All(t => t.RunEnded))
            await FinishAsync(sweep, cancellationToken);
    }

    private static SweepTrial? AwaitingAnswer(Sweep sweep) => sweep.Trials.Find(t => t.Sent && !t.Accepted && !t.RunEnded);

    private static SweepTrial? NextToSend(Sweep sweep)
    {
        if (sweep.State != SweepState.Running || AwaitingAnswer(sweep) is not null)
            return null;
        if (sweep.MaxConcurrent is { } limit && sweep.Trials.Count(t => t.Sent && !t.RunEnded) >= limit)
            return null;
        return sweep.Trials.Find(t => !t.Sent && t.State == TrialState.Queued);
    }

    private async Task SendAsync(Sweep sweep, SweepTrial trial, CancellationToken cancellationToken)
    {
        await publisher.Publish(new PretrainRequested(sweep.Id, trial.RunId, $"{TrialRunNamePrefix}{sweep.Id}/t{trial.Number}", trial.ModelJson, trial.TrainingJson,
            sweep.TokenizerId, sweep.DatasetVersion ?? "", sweep.TrainShards, sweep.ValidationShards), cancellationToken);
        logger.LogInformation("Sweep {SweepId}: trial {Trial} sent as run {RunId}", sweep.Id, trial.Number, trial.RunId);
    }

    /// <summary>
    /// Picks the completed trial with the lowest final validation loss (the held-out loss is what trials can be compared on
    /// while they run, and it is the recipe's measure of a pretrained model) and registers it as a candidate of the
    /// sweep's model, asking for automatic promotion so that the evaluator measures it and the family's policy decides.
    /// Registering again finds the same version, so a finish interrupted half-way is simply done again.
    /// </summary>
    private async Task FinishAsync(Sweep sweep, CancellationToken cancellationToken)
    {
        var best = sweep.Trials.Where(t => t.State == TrialState.Completed && t.CheckpointKey is not null && t.Score is not null)
            .OrderBy(t => double.IsNaN(t.Score!.Value) ? double.PositiveInfinity : t.Score.Value).ThenBy(t => t.Number).FirstOrDefault();
        if (best is null)
        {
            var failed = await UpdateAsync(sweep.Id, s => s.State != SweepState.Running ? null : s with
            {
                State = SweepState.Failed,
                Failure = "no trial completed: " + string.Join("; ", s.Trials.Select(t => $"trial {t.Number} {t.State}{(t.Detail is null ? "" : ": " + t.Detail)}")),
                FinishedAt = Now(),
            }, cancellationToken);
            if (failed is not null)
                logger.LogWarning("Sweep {SweepId} failed: {Failure}", sweep.Id, failed.Failure);
            return;
        }
        var (version, result) = await registry.RegisterAsync(new NewModelVersion(
            sweep.Name,
            best.RunId,
            best.CheckpointKey!,
            sweep.TokenizerId,
            sweep.DatasetVersion is null ? [] : [sweep.DatasetVersion],
            new Dictionary<string, Dictionary<string, double>>(),
            AutoPromote: true,
            By: $"sweep {sweep.Id}",
            ValidationShards: sweep.ValidationShards)
        {
            TrainShards = sweep.TrainShards,
        }, cancellationToken);
        var completed = await UpdateAsync(sweep.Id, s => s.State != SweepState.Running ? null : s with
        {
            State = SweepState.Completed,
            BestTrial = best.Number,
            ModelVersionId = version.Id,
            FinishedAt = Now(),
        }, cancellationToken);
        if (completed is not null)
            logger.LogInformation("Sweep {SweepId} completed: trial {Trial} (validation loss {Loss}) is {ModelVersionId} ({Result})",
                sweep.Id, best.Number, best.Score?.ToString("F4", CultureInfo.InvariantCulture), version.Id, result);
    }

    /// <summary>Cancels a running sweep: no further trial is sent, and the trials still training are asked to stop.</summary>
    public async Task<Sweep?> CancelAsync(string sweepId, CancellationToken cancellationToken)
    {
        var now = Now();
        var cancelled = await UpdateAsync(sweepId, s => s.State != SweepState.Running ? null : s with
        {
            State = SweepState.Cancelled,
            FinishedAt = now,
            Trials = [.. s.Trials.Select(t => t.State is TrialState.Queued or TrialState.Running
                ? t with { State = TrialState.Cancelled, RunEnded = t.RunEnded || !t.Sent, Detail = "the sweep was cancelled", FinishedAt = now }
                : t)],
        }, cancellationToken);
        if (cancelled is null)
            return null;
        foreach (var trial in cancelled.Trials.Where(t => t.Sent && !t.RunEnded))
            await publisher.Publish(new CancelTrainingRunRequested(trial.RunId, $"sweep {sweepId} was cancelled"), cancellationToken);
        logger.LogInformation("Sweep {SweepId} cancelled", sweepId);
        return cancelled;
    }

    /// <summary>
    /// Carries on every running sweep that has not moved for <paramref name="idleFor"/>: asks the trainer again about each
    /// trial sent and not ended (it announces again how an ended run ended, and creates a run whose request was lost),
    /// asks again to stop pruned trials, then sends the next trial or finishes the sweep.
    /// </summary>
    public async Task<int> ResumeAsync(TimeSpan idleFor, CancellationToken cancellationToken)
    {
        var running = await store.Sweeps.FindAsync(s => s.State == SweepState.Running, cancellationToken: cancellationToken);
        var resumed = 0;
        foreach (var sweep in running.Where(s => Now() - s.UpdatedAt >= idleFor))
        {
            logger.LogInformation("Sweep {SweepId}: resuming", sweep.Id);
            foreach (var trial in sweep.Trials.Where(t => t.Sent && !t.RunEnded))
            {
                await SendAsync(sweep, trial, cancellationToken);
                if (trial.State == TrialState.Pruned)
                    await publisher.Publish(new CancelTrainingRunRequested(trial.RunId, $"pruned by sweep {sweep.Id}"), cancellationToken);
            }
            await DispatchAsync(sweep.Id, cancellationToken);
            resumed++;
        }
        return resumed;
    }

    private DateTime Now() => clock.GetUtcNow().UtcDateTime;
}
