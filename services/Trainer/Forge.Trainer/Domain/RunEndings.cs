using Forge.Contracts;

namespace Forge.Trainer.Domain;

/// <summary>
/// How an ended run is announced again when the request that made it is repeated (a restarted orchestrator resends
/// its current stage's command): its TrainingRunCompleted with lineage, TrainingRunFailed or TrainingRunCancelled,
/// as the trainer announced it when it ended. Null for a run that has not ended: its trainer will announce it.
/// </summary>
public static class RunEndings
{
    public static object? Announcement(TrainingRun run) => run.State switch
    {
        RunState.Failed => new TrainingRunFailed(run.Id, run.Failure ?? "failed"),
        RunState.Cancelled => new TrainingRunCancelled(run.Id, run.Step),
        RunState.Completed when run.Checkpoints.Count > 0 => new TrainingRunCompleted(run.Id, run.Name, run.Step, run.LastLoss ?? double.NaN, run.ValidationLoss,
            run.Checkpoints[^1].ManifestKey, run.TokenizerId, run.DatasetVersion, run.ValidationShards)
        {
            TrainShards = run.TrainShards,
            BaseVersionId = run.BaseVersionId,
            RetrainingId = run.RetrainingId,
        },
        _ => null,
    };
}
