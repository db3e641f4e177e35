using Forge.Storage.Metadata;

namespace Forge.Orchestrator.Domain;

public enum SweepState { Running, Completed, Failed, Cancelled }

public enum SweepStrategy { Grid, Random }

/// <summary>
/// Queued: not started by a trainer yet. Pruned: stopped early by the pruning rule. Cancelled: stopped because the
/// sweep was cancelled, or by someone else through the trainer.
/// </summary>
public enum TrialState { Queued, Running, Completed, Pruned, Failed, Cancelled }

public enum PruningRule { None, Median, Halving }

/// <summary>When weak trials are stopped early; see <see cref="SweepPruner"/> for the rules exactly.</summary>
public sealed record SweepPruning
{
    public PruningRule Rule { get; init; }
    /// <summary>Median rule: a trial's first evaluations are never judged.</summary>
    public int WarmupEvaluations { get; init; } = 1;
    /// <summary>Median rule: how many other trials must have a loss at the same step before a trial is judged there.</summary>
    public int MinTrials { get; init; } = 2;
    /// <summary>Successive halving: the evaluation steps at which trials are compared.</summary>
    public List<long> Rungs { get; init; } = [];
    /// <summary>Successive halving: the best 1/Eta of the trials that reached a rung go on.</summary>
    public int Eta { get; init; } = 3;
}

/// <summary>One swept setting of a trial: its path (model.width, training.learningRate) and its value as JSON.</summary>
public sealed record SweepSetting(string Path, string Value);

public sealed record SweepEvaluation(long Step, double Loss);

/// <summary>One trial: its settings, the run it trains as, and what that run has reported.</summary>
public sealed record SweepTrial
{
    public int Number { get; init; }
    public required string RunId { get; init; }
    public List<SweepSetting> Settings { get; init; } = [];
    /// <summary>The trial's whole GptConfig and TrainingConfig, as PretrainRequested carries them.</summary>
    public required string ModelJson { get; init; }
    public required string TrainingJson { get; init; }
    public long MaxSteps { get; init; }
    public TrialState State { get; init; }
    /// <summary>How often PretrainRequested was sent: 0 while the trial waits its turn.</summary>
    public int Attempts { get; init; }
    /// <summary>The trainer has the run (it announced it or reported on it), so a refusal cannot be this trial's.</summary>
    public bool Accepted { get; init; }
    /// <summary>The run reported its end (completed, failed or cancelled), or was never created.</summary>
    public bool RunEnded { get; init; }
    public long Step { get; init; }
    public double? TrainingLoss { get; init; }
    public double TokensPerSecond { get; init; }
    public List<SweepEvaluation> Evaluations { get; init; } = [];
    /// <summary>The held-out loss the run ended with (its last evaluation, at its last step).</summary>
    public double? FinalValidationLoss { get; init; }
    public string? CheckpointKey { get; init; }
    /// <summary>Why it was pruned, how it failed.</summary>
    public string? Detail { get; init; }
    public DateTime? StartedAt { get; init; }
    public DateTime? FinishedAt { get; init; }

    public bool Sent => Attempts > 0;

    public double? LastValidationLoss => Evaluations.Count > 0 ? Evaluations.MaxBy(e => e.Step)!.Loss : null;

    public double? BestValidationLoss => Evaluations.Count > 0 ? Evaluations.Min(e => e.Loss) : null;

    /// <summary>What a completed trial is ranked by: its final held-out loss.</summary>
    public double? Score => FinalValidationLoss ?? LastValidationLoss;
}

/// <summary>
/// A hyperparameter sweep: the process manager's whole state (trials, their reports, the pruning decisions, the
/// winner), so that any orchestrator process can carry it on. Every write is a compare-and-swap on <see cref="Revision"/>.
/// </summary>
public sealed record Sweep : IDocument
{
    public required string Id { get; init; }
    /// <summary>The model the best trial is registered as.</summary>
    public required string Name { get; init; }
    public required string TokenizerId { get; init; }
    public string? DatasetVersion { get; init; }
    public List<string> TrainShards { get; init; } = [];
    public List<string> ValidationShards { get; init; } = [];
    public SweepStrategy Strategy { get; init; }
    public int Seed { get; init; }
    /// <summary>The swept parameters as they were asked for (JSON).</summary>
    public required string ParametersJson { get; init; }
    public SweepPruning Pruning { get; init; } = new();
    /// <summary>Trials sent to the trainers and not yet ended, at most; null: every trial at once.</summary>
    public int? MaxConcurrent { get; init; }
    public SweepState State { get; init; }
    public List<SweepTrial> Trials { get; init; } = [];
    /// <summary>The winner's number, once every trial has ended.</summary>
    public int? BestTrial { get; init; }
    public string? ModelVersionId { get; init; }
    public string? Failure { get; init; }
    public DateTime CreatedAt { get; init; }
    public DateTime UpdatedAt { get; init; }
    public DateTime? FinishedAt { get; init; }

    public int Revision { get; init; }

    public SweepTrial? Trial(string runId) => Trials.Find(t => t.RunId == runId);

    public Sweep With(SweepTrial trial) => this with { Trials = [.. Trials.Select(t => t.Number == trial.Number ? trial : t)] };
}

/// <summary>A sweep to start: where its data is, how its trials were chosen and how weak ones are stopped.</summary>
public sealed record NewSweep(
    string Name,
    string TokenizerId,
    string? DatasetVersion,
    IReadOnlyList<string> TrainShards,
    IReadOnlyList<string> ValidationShards,
    SweepStrategy Strategy,
    int Seed,
    string ParametersJson,
    SweepPruning Pruning,
    int? MaxConcurrent);

public sealed class SweepStore(IMetadataStore store)
{
    public IDocumentCollection<Sweep> Sweeps { get; } = store.Collection<Sweep>("orchestrator_sweeps");

    public async Task EnsureIndexesAsync(CancellationToken cancellationToken)
    {
        await Sweeps.EnsureIndexAsync(s => s.State, cancellationToken: cancellationToken);
        await Sweeps.EnsureIndexAsync(s => s.Name, cancellationToken: cancellationToken);
    }
}
