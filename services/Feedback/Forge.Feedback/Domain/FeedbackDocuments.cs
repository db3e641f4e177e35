using Forge.Contracts;
using Forge.Storage.Metadata;

namespace Forge.Feedback.Domain;

/// <summary>The four kinds of feedback, as clients name them.</summary>
public static class FeedbackKinds
{
    public const string Thumbs = "thumbs";
    public const string Rating = "rating";
    public const string Correction = "correction";
    public const string Preference = "preference";

    public static readonly IReadOnlyList<string> All = [Thumbs, Rating, Correction, Preference];
}

/// <summary>Which side of a preference won: the generation the feedback is on, or the other one.</summary>
public static class PreferredAnswer
{
    public const string This = "this";
    public const string Other = "other";
}

/// <summary>One chat turn of a stored generation.</summary>
public sealed record StoredTurn
{
    public required string Role { get; init; }
    public required string Content { get; init; }
}

/// <summary>
/// This service's own copy of a generation, made from <see cref="GenerationCompleted"/>: feedback needs the prompt,
/// the output and the model version, and services never read another service's collections.
/// </summary>
public sealed record StoredGeneration : IDocument
{
    /// <summary>The generation's id, as the inference service gave it.</summary>
    public required string Id { get; init; }
    public required string Model { get; init; }
    public required string ModelVersionId { get; init; }
    public const string ChatKind = "chat";

    /// <summary>completion or chat.</summary>
    public required string Kind { get; init; }
    public required string Prompt { get; init; }
    /// <summary>The conversation the model answered (chat); empty for completions.</summary>
    public List<StoredTurn> Messages { get; init; } = [];
    public required string Output { get; init; }
    public double Temperature { get; init; }
    public int TopK { get; init; }
    public double TopP { get; init; }
    public long Seed { get; init; }
    public int MaxTokens { get; init; }
    public List<string> Stop { get; init; } = [];
    public int PromptTokens { get; init; }
    public int CompletionTokens { get; init; }
    public required string FinishReason { get; init; }
    public string? ApiKeyId { get; init; }
    public DateTime CreatedAt { get; init; }

    public static StoredGeneration Of(GenerationCompleted generation) => new()
    {
        Id = generation.GenerationId,
        Model = generation.Model,
        ModelVersionId = generation.ModelVersionId,
        Kind = generation.Kind,
        Prompt = generation.Prompt,
        Messages = (generation.Messages ?? []).Select(turn => new StoredTurn { Role = turn.Role, Content = turn.Content }).ToList(),
        Output = generation.Output,
        Temperature = generation.Sampling.Temperature,
        TopK = generation.Sampling.TopK,
        TopP = generation.Sampling.TopP,
        Seed = generation.Sampling.Seed,
        MaxTokens = generation.Sampling.MaxTokens,
        Stop = [.. generation.Sampling.Stop ?? []],
        PromptTokens = generation.PromptTokens,
        CompletionTokens = generation.CompletionTokens,
        FinishReason = generation.FinishReason,
        ApiKeyId = generation.ApiKeyId,
        CreatedAt = generation.CreatedAt,
    };

    /// <summary>Two generations answer the same prompt when both the prompt and the conversation before it are equal.</summary>
    public bool SamePromptAs(StoredGeneration other) =>
        Prompt == other.Prompt && Messages.SequenceEqual(other.Messages);
}

/// <summary>
/// One piece of feedback on a generation. The fields that matter depend on <see cref="Kind"/>: Up (thumbs), Rating
/// (1 to 5), Correction (a better answer), or OtherGenerationId and Preferred ("this" or "other") for a preference.
/// Model and versions are copied from the generations, so summaries and exports need no join.
/// </summary>
public sealed record FeedbackItem : IDocument
{
    public required string Id { get; init; }
    public required string GenerationId { get; init; }
    public required string Model { get; init; }
    public required string ModelVersionId { get; init; }
    public required string Kind { get; init; }
    public bool? Up { get; init; }
    public int? Rating { get; init; }
    public string? Correction { get; init; }
    public string? OtherGenerationId { get; init; }
    public string? OtherModelVersionId { get; init; }
    /// <summary>"this" (the generation the feedback is on) or "other".</summary>
    public string? Preferred { get; init; }
    /// <summary>Who gave it: the user named in the request, else the API key id, else "anonymous".</summary>
    public required string User { get; init; }
    public string? Comment { get; init; }
    public string? IdempotencyKey { get; init; }
    /// <summary>When the generation was made, so the newest version feedback was about is known without a lookup.</summary>
    public DateTime GenerationCreatedAt { get; init; }
    public DateTime CreatedAt { get; init; }
}

/// <summary>
/// When a model asks for retraining. It fires when, since the last retraining request, at least MinNewFeedback items
/// arrived and at least MinNewExamples of them are SFT examples (corrections, thumbs up, high ratings); or when the
/// mean rating of the served version over at least MinRatings ratings falls below RatingBelow.
/// </summary>
public sealed record RetrainingPolicy
{
    public int MinNewFeedback { get; init; }
    public int MinNewExamples { get; init; }
    /// <summary>Null: no rating trigger.</summary>
    public double? RatingBelow { get; init; }
    public int MinRatings { get; init; }
    public bool Enabled { get; init; }
}

/// <summary>A retraining the policy decided on, kept in the model's document until its record is stored and its event published.</summary>
public sealed record RetrainingDecision
{
    public required string Id { get; init; }
    public required string BaseVersionId { get; init; }
    public required string Reason { get; init; }
    public int NewFeedback { get; init; }
    public int NewExamples { get; init; }
    public int? Ratings { get; init; }
    public double? MeanRating { get; init; }
    public DateTime DecidedAt { get; init; }
}

/// <summary>
/// One document per model: its retraining policy and what arrived since its last retraining request. Every write is a
/// compare-and-swap on <see cref="Revision"/>, so exactly one feedback item crosses a threshold, and the write that
/// crosses it also resets the counters and records the decision in <see cref="Pending"/>.
/// </summary>
public sealed record ModelFeedback : IDocument
{
    /// <summary>The model's name.</summary>
    public required string Id { get; init; }
    public int Revision { get; init; }
    public RetrainingPolicy? Policy { get; init; }
    /// <summary>Feedback items stored since the last retraining request.</summary>
    public int NewFeedback { get; init; }
    /// <summary>Of those, the ones that make SFT examples.</summary>
    public int NewExamples { get; init; }
    /// <summary>The version of the most recent generation that new feedback was about: what a volume retraining fine-tunes.</summary>
    public string? NewestFeedbackVersionId { get; init; }
    public DateTime? NewestFeedbackGenerationAt { get; init; }
    /// <summary>The served version: the version of the model's most recent generation, made at <see cref="ServedSince"/>.</summary>
    public string? ServedVersionId { get; init; }
    public DateTime? ServedSince { get; init; }
    /// <summary>The served version whose low mean rating fired the policy; cleared when its mean recovers, so it fires once per fall.</summary>
    public string? LowRatingVersionId { get; init; }
    /// <summary>Decisions whose record or event is not written yet; the sweep finishes those interrupted half-way.</summary>
    public List<RetrainingDecision> Pending { get; init; } = [];
    public DateTime CreatedAt { get; init; }
}

/// <summary>A retraining request as it was published: what it was based on, why, and where its SFT examples are.</summary>
public sealed record RetrainingRecord : IDocument
{
    public required string Id { get; init; }
    public required string Model { get; init; }
    public required string BaseVersionId { get; init; }
    public required string Reason { get; init; }
    public int NewFeedback { get; init; }
    public int NewExamples { get; init; }
    public int? Ratings { get; init; }
    public double? MeanRating { get; init; }
    /// <summary>Lines in the SFT file.</summary>
    public int Examples { get; init; }
    public required string SftDataKey { get; init; }
    public DateTime RequestedAt { get; init; }
    public DateTime? PublishedAt { get; init; }
}

/// <summary>The feedback service's collections.</summary>
public sealed class FeedbackStore(IMetadataStore store)
{
    public IDocumentCollection<StoredGeneration> Generations { get; } = store.Collection<StoredGeneration>("feedback_generations");
    public IDocumentCollection<FeedbackItem> Items { get; } = store.Collection<FeedbackItem>("feedback_items");
    public IDocumentCollection<ModelFeedback> Models { get; } = store.Collection<ModelFeedback>("feedback_models");
    public IDocumentCollection<RetrainingRecord> Retrainings { get; } = store.Collection<RetrainingRecord>("feedback_retrainings");

    public async Task EnsureIndexesAsync(CancellationToken cancellationToken)
    {
        await Generations.EnsureIndexAsync(g => g.Model, cancellationToken: cancellationToken);
        await Items.EnsureIndexAsync(i => i.GenerationId, cancellationToken: cancellationToken);
        await Items.EnsureIndexAsync(i => i.Model, cancellationToken: cancellationToken);
        await Items.EnsureIndexAsync(i => i.ModelVersionId, cancellationToken: cancellationToken);
        await Items.EnsureIndexAsync(i => i.CreatedAt, cancellationToken: cancellationToken);
        await Retrainings.EnsureIndexAsync(r => r.Model, cancellationToken: cancellationToken);
    }
}
