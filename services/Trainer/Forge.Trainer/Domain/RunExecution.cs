using System.Diagnostics;
using Forge.Contracts;
using Forge.Model;
using MassTransit;
using Microsoft.Extensions.Logging;

namespace Forge.Trainer.Domain;

/// <summary>
/// Trains one claimed run to its end on the calling thread: resumes from the latest complete checkpoint, renews the
/// lease while it trains, checkpoints every CheckpointInterval steps (keeping the newest few), reports progress and
/// evaluations, and stops at once when the lease is lost or a cancel is asked for. A fine-tune without checkpoints of its
/// own starts from its base checkpoint.
/// </summary>
public sealed class RunExecution(RunLeases leases, ArtifactCheckpoints checkpoints, FineTunes fineTunes, IBus bus, TrainerOptions options, TimeProvider clock, ILogger logger)
{
    private const int CurveLimit = 2000;

    public async Task ExecuteAsync(TrainingRun claimed, CancellationToken stopping)
    {
        var runId = claimed.Id;
        var epoch = claimed.Lease!.Epoch;
        try
        {
            // A fine-tune without replay reads no shards of the base's, however many the run names for lineage.
            var readsTrainShards = claimed.Kind != TrainingRun.FineTune || claimed.ReplayFraction > 0;
            using var train = readsTrainShards ? TokenDataset.Open(await checkpoints.StageShardsAsync(claimed.TrainShards, stopping)) : null;
            using var validation = claimed.ValidationShards.Count > 0 ? TokenDataset.Open(await checkpoints.StageShardsAsync(claimed.ValidationShards, stopping)) : null;
            using var loop = await CreateLoopAsync(claimed, train, validation, stopping);
            // The claim recorded the run's last reported step; training really starts where the checkpoint left it.
            var startStep = loop.Step;
            claimed = await leases.UpdateAsync(runId, epoch, r => r with
            {
                Step = startStep,
                Segments = [.. r.Segments.Select(s => s.Owner == options.Replica && s.Epoch == epoch ? s with { FromStep = startStep, ToStep = startStep } : s)],
            }, stopping) ?? throw new LeaseLostException(runId);
            logger.LogInformation("Run {RunId} starts at step {Step} of {MaxSteps} on {Trainer} (epoch {Epoch})", runId, loop.Step, loop.Training.MaxSteps, options.Replica, epoch);
            await TrainAsync(claimed, loop, epoch, validation is not null, stopping);
        }
        catch (LeaseLostException)
        {
            logger.LogWarning("Run {RunId}: the lease was lost; {Trainer} stops without writing", runId, options.Replica);
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
            logger.LogInformation("Run {RunId}: this trainer is stopping; the lease will expire and another trainer resumes from the last checkpoint", runId);
        }
        catch (Exception e)
        {
            logger.LogError(e, "Run {RunId} failed", runId);
            var failed = await leases.UpdateAsync(runId, epoch, r => r with { State = RunState.Failed, Failure = e.Message, FinishedAt = Now(), Lease = r.Lease }, CancellationToken.None);
            if (failed is not null)
                await bus.Publish(new TrainingRunFailed(runId, e.Message), CancellationToken.None);
        }
    }

    private async Task<TrainingLoop> CreateLoopAsync(TrainingRun run, TokenDataset? train, TokenDataset? validation, CancellationToken cancellationToken)
    {
        TrainingConfig Local(TrainingConfig training) => training with { Device = options.Device, Threads = options.Threads };
        var fineTune = run.Kind == TrainingRun.FineTune ? await fineTunes.LoadDataAsync(run, cancellationToken) : null;
        if (run.Checkpoints.Count == 0 && fineTune is null)
            return new TrainingLoop(run.Model ?? throw new InvalidDataException($"Run {run.Id} has no model configuration."), Local(run.Training), train, validation);
        var start = run.Checkpoints.Count > 0 ? run.Checkpoints[^1].ManifestKey : run.BaseCheckpointKey ?? throw new InvalidDataException($"Fine-tune {run.Id} names no base checkpoint.");
        var folder = await checkpoints.StageAsync(run.Id, start, cancellationToken);
        try
        {
            var files = Checkpoint.OpenFolder(folder);
            return run.Checkpoints.Count > 0
                ? TrainingLoop.Resume(files, train, validation, Local, fineTune)
                : TrainingLoop.FromBase(files, Local(run.Training), train, validation, fineTune!);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    private async Task TrainAsync(TrainingRun run, TrainingLoop loop, int epoch, bool hasValidation, CancellationToken stopping)
    {
        var training = loop.Training;
        var lastBeat = Stopwatch.StartNew();
        var rate = Stopwatch.StartNew();
        long rateFrom = loop.Step;
        double lastLoss = double.NaN, lastRate = 0;
        EvaluationResult? lastEvaluation = null;
        var points = new List<LossPoint>();

        async Task<TrainingRun> BeatAsync(Func<TrainingRun, TrainingRun>? also = null)
        {
            var step = loop.Step;
            var newPoints = points.ToList();
            points.Clear();
            var updated = await leases.UpdateAsync(run.Id, epoch, r => (also ?? (x => x))(r with
            {
                Step = step,
                LastLoss = double.IsNaN(lastLoss) ? r.LastLoss : lastLoss,
                ValidationLoss = lastEvaluation?.Loss ?? r.ValidationLoss,
                TokensPerSecond = lastRate,
                Curve = [.. r.Curve.Concat(newPoints).TakeLast(CurveLimit)],
                Segments = [.. r.Segments.Select(s => s.Owner == options.Replica && s.Epoch == epoch ? s with { ToStep = step, LastBeatAt = Now() } : s)],
            }), CancellationToken.None) ?? throw new LeaseLostException(run.Id);
            lastBeat.Restart();
            return updated;
        }

        while (loop.Step < training.MaxSteps)
        {
            stopping.ThrowIfCancellationRequested();
            var result = loop.TrainStep();
            lastLoss = result.Loss;

            if (loop.Step % Math.Max(1, training.LogInterval) == 0 || loop.Step == training.MaxSteps)
            {
                lastRate = (loop.Step - rateFrom) * training.TokensPerStep(loop.ModelConfig.ContextLength) / Math.Max(1e-9, rate.Elapsed.TotalSeconds);
                var eta = (training.MaxSteps - loop.Step) * rate.Elapsed.TotalSeconds / Math.Max(1, loop.Step - rateFrom);
                points.Add(new LossPoint(loop.Step, result.Loss, result.LearningRate, null));
                await bus.Publish(new TrainingRunProgressed(run.Id, options.Replica, loop.Step, training.MaxSteps, result.Loss, result.LearningRate, lastRate, eta), CancellationToken.None);
            }
            if (hasValidation && training.EvaluationInterval > 0 && loop.Step % training.EvaluationInterval == 0 && loop.Step < training.MaxSteps)
                lastEvaluation = await EvaluateAsync(run.Id, loop, points);
            if (training.CheckpointInterval > 0 && loop.Step % training.CheckpointInterval == 0 && loop.Step < training.MaxSteps)
                run = await CheckpointAsync(run, loop, epoch, BeatAsync);
            if (lastBeat.Elapsed >= options.HeartbeatInterval)
                run = await BeatAsync();
            // Every write of the run (a heartbeat, a checkpoint's, which also counts as a heartbeat) reads it back, and
            // with it a cancel request: checked after each, so frequent checkpoints cannot keep it from being seen.
            if (run.CancelRequested)
            {
                await leases.UpdateAsync(run.Id, epoch, r => r with { State = RunState.Cancelled, FinishedAt = Now() }, CancellationToken.None);
                await bus.Publish(new TrainingRunCancelled(run.Id, loop.Step), CancellationToken.None);
                logger.LogInformation("Run {RunId} cancelled at step {Step}", run.Id, loop.Step);
                return;
            }
        }

        if (hasValidation)
            lastEvaluation = await EvaluateAsync(run.Id, loop, points);
        run = await CheckpointAsync(run, loop, epoch, BeatAsync);
        var finalKey = run.Checkpoints[^1].ManifestKey;
        await leases.UpdateAsync(run.Id, epoch, r => r with { State = RunState.Completed, FinishedAt = Now() }, CancellationToken.None);
        var completed = new TrainingRunCompleted(run.Id, run.Name, loop.Step, lastLoss, lastEvaluation?.Loss, finalKey, loop.TokenizerId, run.DatasetVersion, run.ValidationShards)
        {
            TrainShards = run.TrainShards,
            BaseVersionId = run.BaseVersionId,
            RetrainingId = run.RetrainingId,
        };
        await bus.Publish(completed, CancellationToken.None);
        logger.LogInformation("Run {RunId} completed at step {Step}: loss {Loss:F4}, validation {ValidationLoss}", run.Id, loop.Step, lastLoss, lastEvaluation?.Loss);
    }

    private async Task<EvaluationResult> EvaluateAsync(string runId, TrainingLoop loop, List<LossPoint> points)
    {
        var evaluation = loop.Evaluate();
        points.Add(new LossPoint(loop.Step, null, null, evaluation.Loss));
        await bus.Publish(new TrainingRunEvaluated(runId, loop.Step, evaluation.Loss, evaluation.Perplexity), CancellationToken.None);
        return evaluation;
    }

    private async Task<TrainingRun> CheckpointAsync(TrainingRun run, TrainingLoop loop, int epoch, Func<Func<TrainingRun, TrainingRun>?, Task<TrainingRun>> beat)
    {
        var key = await checkpoints.SaveAsync(run.Id, loop, async ct => await leases.UpdateAsync(run.Id, epoch, r => r, ct) is not null, CancellationToken.None);
        var saved = new SavedCheckpoint(loop.Step, key, Now());
        var stale = new List<SavedCheckpoint>();
        var updated = await beat(r =>
        {
            var all = r.Checkpoints.Where(c => c.Step != saved.Step).Append(saved).OrderBy(c => c.Step).ToList();
            stale = all.Take(Math.Max(0, all.Count - options.KeepCheckpoints)).ToList();
            return r with { Checkpoints = all.Skip(stale.Count).ToList() };
        });
        foreach (var old in stale)
            await checkpoints.DeleteAsync(old.ManifestKey, CancellationToken.None);
        await bus.Publish(new CheckpointSaved(run.Id, loop.Step, key), CancellationToken.None);
        return updated;
    }

    private DateTime Now() => clock.GetUtcNow().UtcDateTime;
}
