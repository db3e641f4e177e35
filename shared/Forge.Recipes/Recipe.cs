using System.Text.Json;
using Forge.Model;

namespace Forge.Recipes;

/// <summary>
/// What a team wants built, as read from its recipe file: every default applied, every path absolute, every value
/// checked. recipes/README.md documents each field, its default and its range.
/// </summary>
public sealed record Recipe
{
    /// <summary>The model's name in the registry: 1 to 64 lowercase letters, digits, '.', '_' or '-'.</summary>
    public required string Name { get; init; }

    public string? UseCase { get; init; }

    public required IReadOnlyList<DataSource> Sources { get; init; }

    /// <summary>Share of the documents held out for validation, in (0, 0.5].</summary>
    public double ValidationFraction { get; init; } = RecipeDefaults.ValidationFraction;

    /// <summary>The cleaning service's settings body as JSON (camelCase keys), or null to keep its defaults.</summary>
    public string? CleaningJson { get; init; }

    public TokenizerSettings Tokenizer { get; init; } = new();

    /// <summary>The network; its VocabularySize is 0 because it comes from the trained tokenizer.</summary>
    public GptConfig Model { get; init; } = RecipeDefaults.Model;

    public TrainingConfig Training { get; init; } = RecipeDefaults.Training;

    public FineTuningSettings? FineTuning { get; init; }

    public IReadOnlyList<EvaluationSet> EvalSets { get; init; } = [];

    /// <summary>What a version must show to be promoted; "validation" is the held-out set every version is measured on.</summary>
    public IReadOnlyList<PromotionGate> Gates { get; init; } = [];

    /// <summary>A candidate must also do no worse than the promoted version on every gate, and better on one.</summary>
    public bool MustBeatPromoted { get; init; } = true;

    /// <summary>When feedback asks for retraining; null leaves the feedback service's policy alone.</summary>
    public FeedbackPolicy? Feedback { get; init; }

    /// <summary>The resolved recipe as JSON (camelCase, enums as strings), for the orchestrator's metadata.</summary>
    public string ToJson() => JsonSerializer.Serialize(this, RecipeJson.Options);

    public static Recipe FromJson(string json) =>
        JsonSerializer.Deserialize<Recipe>(json, RecipeJson.Options) ?? throw new JsonException("The recipe JSON is null.");
}

/// <summary>A file or folder (read recursively) of training text.</summary>
/// <param name="Separator">Splits text files into documents at lines holding only this, as fortune files do with "%".</param>
/// <param name="Format">Reads the files as this format (txt, md, html, pdf, jsonl) whatever their names; null goes by extension.</param>
public sealed record DataSource(string Path, string? Separator = null, string? Format = null);

public sealed record TokenizerSettings
{
    /// <summary>Byte-level BPE trained on the data.</summary>
    public const string BpeKind = "bpe";

    /// <summary>One token per character of the training text, as nanoGPT's shakespeare_char.</summary>
    public const string CharKind = "char";

    /// <summary><see cref="BpeKind"/> or <see cref="CharKind"/>, as the tokenizer service names them.</summary>
    public string Kind { get; init; } = BpeKind;

    /// <summary>BPE only: the vocabulary to train, with the 256 bytes and the special tokens. 0 for char.</summary>
    public int VocabularySize { get; init; } = RecipeDefaults.VocabularySize;

    /// <summary>BPE only: the fewest occurrences of a pair worth a merge. 1 for char.</summary>
    public int MinFrequency { get; init; } = RecipeDefaults.MinFrequency;

    /// <summary>BPE only: tokens never split or merged; empty for char.</summary>
    public IReadOnlyList<string> SpecialTokens { get; init; } = RecipeDefaults.SpecialTokens;
}

/// <summary>Supervised fine-tuning after pretraining, on prompt/completion or chat examples.</summary>
/// <param name="Data">Absolute path of a JSONL file of {prompt, completion} or {messages} objects.</param>
/// <param name="ReplayFraction">Share of each batch drawn from the pretraining data, in [0, 1).</param>
public sealed record FineTuningSettings(
    string Data,
    long MaxSteps = RecipeDefaults.FineTuningMaxSteps,
    double LearningRate = RecipeDefaults.FineTuningLearningRate,
    int BatchSize = RecipeDefaults.FineTuningBatchSize,
    double ReplayFraction = RecipeDefaults.FineTuningReplayFraction);

/// <summary>A task eval set: absolute path of a JSONL file of {prompt, references} objects, as the evaluator reads them.</summary>
public sealed record EvaluationSet(string Name, string Path);

/// <summary>A metric on an eval set that promotion looks at.</summary>
/// <param name="Threshold">The least (maximised) or most (minimised) value a version may show; null only compares.</param>
/// <param name="Goal">maximize or minimize; null takes the metric's usual direction: perplexity, loss and bitsPerByte down, the rest up.</param>
public sealed record PromotionGate(string EvalSet, string Metric, double? Threshold = null, string? Goal = null);

/// <summary>When feedback on the served model asks for retraining, as the feedback service's retraining policy.</summary>
public sealed record FeedbackPolicy
{
    public required int MinNewFeedback { get; init; }
    public int MinNewExamples { get; init; } = RecipeDefaults.FeedbackMinNewExamples;

    /// <summary>A mean rating below this (over at least MinRatings ratings) asks for retraining; null: no rating trigger.</summary>
    public double? RatingBelow { get; init; }

    public int MinRatings { get; init; } = RecipeDefaults.FeedbackMinRatings;
    public bool Enabled { get; init; } = true;
}

/// <summary>The defaults a recipe gets for what it leaves out.</summary>
public static class RecipeDefaults
{
    /// <summary>
    /// A model that a recipe naming only its data trains in minutes on a laptop's CPU (about 0.8M parameters beside
    /// the embeddings: the fortunes recipe's): 4 layers of width 128, context 128, no biases. A GPU affords far more.
    /// </summary>
    public static GptConfig Model { get; } = new() { VocabularySize = 0, Layers = 4, Heads = 4, Width = 128, ContextLength = 128, Dropout = 0, Bias = false };

    /// <summary>1000 steps of 16 windows (2M tokens at the default context), nanoGPT's rates, a checkpoint every 250 steps.</summary>
    public static TrainingConfig Training { get; } = new() { BatchSize = 16, MaxSteps = 1000, DecaySteps = 1000, CheckpointInterval = 250 };

    public const double ValidationFraction = 0.1;
    public const int VocabularySize = 2048;
    public const int MinFrequency = 2;
    public static IReadOnlyList<string> SpecialTokens { get; } = ["<|endoftext|>", "<|system|>", "<|user|>", "<|assistant|>"];
    public const long FineTuningMaxSteps = 100;
    public const double FineTuningLearningRate = 3e-4;
    public const int FineTuningBatchSize = 8;
    public const double FineTuningReplayFraction = 0.5;
    public const int FeedbackMinNewExamples = 1;
    public const int FeedbackMinRatings = 10;
}
