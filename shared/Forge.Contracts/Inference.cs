namespace Forge.Contracts;

/// <summary>How a generation chose its tokens, as the client asked (after defaults).</summary>
public sealed record SamplingSettings(
    double Temperature,
    int TopK,
    double TopP,
    long Seed,
    int MaxTokens,
    IReadOnlyList<string> Stop);

/// <summary>One chat turn: role is system, user or assistant.</summary>
public sealed record ChatTurn(string Role, string Content);

/// <summary>
/// The inference service produced (and stored) a generation. Feedback points at its id. Prompt is the text the model
/// continued (for chat, the last user turn); Messages holds the whole conversation for chat, empty for completions.
/// FinishReason is stop (a stop sequence or end token), length (max tokens) or cancelled.
/// </summary>
public sealed record GenerationCompleted(
    string GenerationId,
    string Model,
    string ModelVersionId,
    string Kind,
    string Prompt,
    IReadOnlyList<ChatTurn> Messages,
    string Output,
    SamplingSettings Sampling,
    int PromptTokens,
    int CompletionTokens,
    string FinishReason,
    string? ApiKeyId,
    DateTime CreatedAt);

/// <summary>A user said something about a generation: thumbs, rating, correction or preference (Kind).</summary>
public sealed record FeedbackReceived(
    string FeedbackId,
    string GenerationId,
    string ModelVersionId,
    string Kind,
    DateTime ReceivedAt);

/// <summary>
/// The feedback policy of a model fired: fine-tune its promoted version on the feedback-derived examples stored at
/// SftDataKey (JSONL of {prompt, completion}), mixed with a replay sample of its original data.
/// </summary>
public sealed record RetrainingRequested(
    string RetrainingId,
    string Model,
    string BaseVersionId,
    string SftDataKey,
    int Examples,
    string Reason,
    DateTime RequestedAt);
