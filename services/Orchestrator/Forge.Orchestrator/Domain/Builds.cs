using Forge.Storage.Metadata;

namespace Forge.Orchestrator.Domain;

public enum BuildState { Running, Completed, Failed, Cancelled }

public enum StageState { Pending, Running, Completed, Failed }

/// <summary>One stage of a build: when it ran, how far it got, and why it failed.</summary>
public sealed record BuildStage
{
    public required string Name { get; init; }
    public StageState State { get; init; }
    public DateTime? StartedAt { get; init; }
    public DateTime? FinishedAt { get; init; }
    /// <summary>0..1 where the stage can tell (pretraining's steps, cleaning's batches).</summary>
    public double? Fraction { get; init; }
    public string? Detail { get; init; }
    /// <summary>How often the stage's command was sent: a resumed or retried stage sends it again (handlers are idempotent).</summary>
    public int Attempts { get; init; }
}

/// <summary>The stages that make one trained version of a build: train it, register it, evaluate it, promote it.</summary>
public sealed record TrainingStages(string Train, string Register, string Evaluate, string Promote)
{
    public static readonly TrainingStages Pretraining = new("pretrain", "register", "evaluate", "promote");

    /// <summary>Only for a recipe with fine-tuning: a fine-tune of the promoted pretrained version, after its promotion.</summary>
    public static readonly TrainingStages FineTuning = new("finetune", "finetune-register", "finetune-evaluate", "finetune-promote");
}

/// <summary>
/// One trained version of a build: the run that trains it, how that ended, the version the registry made of it, and
/// what the evaluator measured on it. Pretraining's lives in the build's own fields (as it always has); a fine-tune's in
/// <see cref="Build.FineTune"/>. <see cref="Build.Trained"/> and <see cref="Build.With"/> read and write either alike.
/// </summary>
public sealed record TrainedVersion
{
    public required string RunId { get; init; }
    /// <summary>For a fine-tune: the promoted pretrained version it starts from.</summary>
    public string? BaseVersionId { get; init; }
    public double? FinalLoss { get; init; }
    public double? ValidationLoss { get; init; }
    public string? ModelVersionId { get; init; }
    /// <summary>"{evalSet}.{metric}" to its value.</summary>
    public Dictionary<string, double> Metrics { get; init; } = [];
    /// <summary>The eval sets measured so far: "validation" (the held-out shards) and the recipe's task sets.</summary>
    public List<string> EvaluatedSets { get; init; } = [];
}

/// <summary>
/// A recipe run as a build: the process manager's whole state, so that any process (the orchestrator after a
/// restart included) can carry it on. Every write is a compare-and-swap on <see cref="Revision"/>.
/// </summary>
public sealed record Build : IDocument
{
    public required string Id { get; init; }
    /// <summary>The recipe's name: the model the build trains.</summary>
    public required string Model { get; init; }
    /// <summary>The resolved recipe (defaults applied, absolute paths), as the recipe library writes it.</summary>
    public required string RecipeJson { get; init; }
    public BuildState State { get; init; }
    public List<BuildStage> Stages { get; init; } = [];
    public DateTime CreatedAt { get; init; }
    public DateTime UpdatedAt { get; init; }
    public DateTime? FinishedAt { get; init; }
    public string? Failure { get; init; }
    public bool CancelRequested { get; init; }

    // What the stages produced, in order.
    /// <summary>The recipe's task eval sets the evaluator has stored (stage "evalsets", only when the recipe has some).</summary>
    public List<string> StoredEvalSets { get; init; } = [];
    public required string DatasetId { get; init; }
    public bool CleaningSettingsApplied { get; init; }
    public List<string> BatchIds { get; init; } = [];
    public bool FilesIngested { get; init; }
    public long DocumentsIngested { get; init; }
    public long BytesIngested { get; init; }
    public List<string> SkippedFiles { get; init; } = [];
    public List<string> CleanedBatchIds { get; init; } = [];
    public long DocumentsKept { get; init; }
    public string? DatasetVersion { get; init; }
    public required string TokenizerId { get; init; }
    public int? VocabularySize { get; init; }
    public double? CharactersPerToken { get; init; }
    public List<string> TrainShards { get; init; } = [];
    public List<string> ValidationShards { get; init; } = [];
    public long TrainTokens { get; init; }
    public required string RunId { get; init; }
    public double? FinalLoss { get; init; }
    public double? ValidationLoss { get; init; }
    /// <summary>The pretrained version, and once a fine-tune of it is promoted, the fine-tuned one: the build's model.</summary>
    public string? ModelVersionId { get; init; }
    /// <summary>The pretrained version's metrics, "{evalSet}.{metric}" to its value.</summary>
    public Dictionary<string, double> Metrics { get; init; } = [];
    /// <summary>The eval sets the pretrained version was measured on so far.</summary>
    public List<string> EvaluatedSets { get; init; } = [];
    public List<string> PromotionRefusals { get; init; } = [];
    /// <summary>For a recipe with fine-tuning: the fine-tune of the promoted pretrained version, from stage "finetune" on.</summary>
    public TrainedVersion? FineTune { get; init; }

    public int Revision { get; init; }

    public BuildStage? Current => Stages.FirstOrDefault(s => s.State is StageState.Running or StageState.Failed or StageState.Pending);

    public BuildStage Stage(string name) => Stages.Single(s => s.Name == name);

    public TrainedVersion Trained(TrainingStages stages) => stages == TrainingStages.FineTuning
        ? FineTune ?? throw new InvalidOperationException($"Build {Id} has no fine-tune.")
        : new() { RunId = RunId, FinalLoss = FinalLoss, ValidationLoss = ValidationLoss, ModelVersionId = ModelVersionId, Metrics = Metrics, EvaluatedSets = EvaluatedSets };

    public Build With(TrainingStages stages, TrainedVersion trained) => stages == TrainingStages.FineTuning
        ? this with { FineTune = trained }
        : this with { RunId = trained.RunId, FinalLoss = trained.FinalLoss, ValidationLoss = trained.ValidationLoss, ModelVersionId = trained.ModelVersionId, Metrics = trained.Metrics, EvaluatedSets = trained.EvaluatedSets };
}

public sealed class BuildStore(IMetadataStore store)
{
    public IDocumentCollection<Build> Builds { get; } = store.Collection<Build>("orchestrator_builds");

    public async Task EnsureIndexesAsync(CancellationToken cancellationToken)
    {
        await Builds.EnsureIndexAsync(b => b.State, cancellationToken: cancellationToken);
        await Builds.EnsureIndexAsync(b => b.DatasetId, cancellationToken: cancellationToken);
        await Builds.EnsureIndexAsync(b => b.TokenizerId, cancellationToken: cancellationToken);
        await Builds.EnsureIndexAsync(b => b.RunId, cancellationToken: cancellationToken);
        await Builds.EnsureIndexAsync(b => b.FineTune!.RunId, cancellationToken: cancellationToken);
        await Builds.EnsureIndexAsync(b => b.ModelVersionId, cancellationToken: cancellationToken);
    }
}
