namespace Forge.Contracts;

/// <summary>
/// A model version was scored on an eval set. Metric names are the evaluator's (bleu, chrf, rouge1, rouge2, rougeL,
/// rougeLsum, perplexity...), each on its library's own scale: BLEU and chrF 0..100, ROUGE F-measures 0..1.
/// </summary>
public sealed record EvaluationCompleted(
    string EvaluationId,
    string ModelVersionId,
    string EvalSet,
    IReadOnlyDictionary<string, double> Metrics,
    DateTime CompletedAt);

/// <summary>A candidate model version was added to the registry.</summary>
public sealed record ModelVersionRegistered(
    string ModelVersionId,
    string Model,
    string RunId,
    string CheckpointKey,
    string TokenizerId,
    IReadOnlyList<string> DatasetVersions,
    DateTime RegisteredAt,
    IReadOnlyList<string> ValidationShards);

/// <summary>A model version became the promoted one of its model; the one it replaced, if any, was retired.</summary>
public sealed record ModelPromoted(
    string ModelVersionId,
    string Model,
    string? RetiredVersionId,
    string By,
    string Reason,
    DateTime PromotedAt);

/// <summary>A promotion failed its gates; the version kept its state.</summary>
public sealed record PromotionRefused(
    string ModelVersionId,
    string Model,
    IReadOnlyList<string> Reasons,
    string By,
    DateTime RefusedAt);

/// <summary>The promoted version was retired and the one promoted before it restored.</summary>
public sealed record ModelRolledBack(
    string Model,
    string RetiredVersionId,
    string RestoredVersionId,
    string By,
    string Reason,
    DateTime RolledBackAt);
