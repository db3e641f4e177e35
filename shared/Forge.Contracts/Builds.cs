namespace Forge.Contracts;

// The commands the orchestrator sends while it runs a recipe as a build, and the replies that are not already
// announced by the services' ordinary events. Every command names its build; every handler is idempotent, because
// a restarted orchestrator sends the command of its current stage again.

/// <summary>
/// Ingest files the ingestion service can read (paths on its file system; folders are read recursively): .txt, .md,
/// .html, .pdf, .jsonl (and .gz / .zst of those). With Separator set (e.g. "%" for fortune files), a text file is cut
/// into one document per block between lines holding only the separator. The dataset is created when missing.
/// </summary>
public sealed record IngestFilesRequested(string BuildId, string DatasetId, IReadOnlyList<string> Paths, string? Separator);

/// <summary>The files of a build are stored as batches (each announced with DocumentsIngested); cleaning follows.</summary>
public sealed record FilesIngested(string BuildId, string DatasetId, IReadOnlyList<string> BatchIds, long Documents, long Bytes, IReadOnlyList<string> SkippedFiles);

/// <summary>
/// Set a dataset's cleaning settings (JSON of the cleaning service's settings body, as PUT
/// /api/cleaning/datasets/{id}/settings takes it), before its batches arrive.
/// </summary>
public sealed record CleaningSettingsRequested(string BuildId, string DatasetId, string SettingsJson);

/// <summary>The settings were stored (or were already the same).</summary>
public sealed record CleaningSettingsApplied(string BuildId, string DatasetId);

/// <summary>Seal a version of the dataset once the named batches are cleaned; answered by DatasetVersionSealed.</summary>
public sealed record SealDatasetRequested(string BuildId, string DatasetId, IReadOnlyList<string> BatchIds, double ValidationFraction);

/// <summary>Train a tokenizer on a sealed version; answered by TokenizerTrained (same TokenizerId).</summary>
public sealed record TrainTokenizerRequested(string BuildId, string TokenizerId, string DatasetVersion, string Kind, int VocabularySize, int MinFrequency, IReadOnlyList<string> SpecialTokens);

/// <summary>Encode a sealed version with a tokenizer into shards; answered by DatasetTokenized (same version and tokenizer).</summary>
public sealed record TokenizeDatasetRequested(string BuildId, string TokenizerId, string DatasetVersion);

/// <summary>
/// Pretrain a model: ModelJson and TrainingJson are Forge.Model's GptConfig and TrainingConfig as JSON (camelCase,
/// enums as strings), so this contract needs no reference to the model library. Answered by TrainingRunCompleted or
/// TrainingRunFailed (same RunId); idempotent on RunId.
/// </summary>
public sealed record PretrainRequested(
    string BuildId,
    string RunId,
    string Name,
    string ModelJson,
    string TrainingJson,
    string TokenizerId,
    string DatasetVersion,
    IReadOnlyList<string> TrainShards,
    IReadOnlyList<string> ValidationShards);

/// <summary>A stage's command could not be carried out: which stage and why. The build fails at that stage and can be retried.</summary>
public sealed record BuildStageFailed(string BuildId, string Stage, string Reason);

/// <summary>A build moved: a stage started, progressed, finished or failed, or the build ended (Stage "build").</summary>
public sealed record BuildProgressed(string BuildId, string Stage, string State, string? Detail, double? Fraction, DateTime At);

/// <summary>A recipe's feedback retraining policy for its model, for the feedback service to keep (as PUT .../policy does).</summary>
public sealed record FeedbackPolicyRequested(string BuildId, string Model, int MinNewFeedback, int MinNewExamples, double? RatingBelow, int MinRatings, bool Enabled);

/// <summary>
/// Store a recipe's task eval set in the evaluator under Name, as POST /api/evaluator/evalsets/{name} does: the JSONL
/// at ArtifactKey holds one {"prompt", "references": [...]} object per line. Answered by EvalSetStored; a bad line, or a
/// name that already holds other examples (an eval set never changes), fails the build's Stage with BuildStageFailed
/// naming the line. Idempotent: the same examples under the same name are stored once and announced again.
/// </summary>
public sealed record StoreEvalSetRequested(string BuildId, string Stage, string Name, string ArtifactKey);

/// <summary>The eval set is stored (now or before, with the same examples): how many examples, and their hash.</summary>
public sealed record EvalSetStored(string BuildId, string Name, int Examples, string Sha256);

/// <summary>
/// Score a registered model version on a stored task eval set: it answers every prompt (greedy, at most MaxNewTokens
/// tokens, ending at its end-of-text token), the answers are scored against the references (BLEU, chrF, ROUGE), and
/// EvaluationCompleted is published for the registry. Idempotent per (version, set): a repeated request announces the
/// same evaluation again. A set or checkpoint that cannot be used fails the build's Stage with BuildStageFailed.
/// </summary>
public sealed record EvaluateVersionRequested(
    string BuildId,
    string Stage,
    string ModelVersionId,
    string CheckpointKey,
    string TokenizerId,
    string EvalSet,
    int MaxNewTokens);
