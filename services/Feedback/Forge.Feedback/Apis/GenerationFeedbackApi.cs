using System.Linq.Expressions;
using Forge.Contracts;
using Forge.Feedback.Domain;
using Forge.ServiceDefaults;
using Forge.Storage.Metadata;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Routing;

namespace Forge.Feedback.Apis;

/// <summary>
/// Feedback on a generation, one kind per request: {"kind": "thumbs", "up": true}, {"kind": "rating", "rating": 1..5},
/// {"kind": "correction", "correction": "..."} or {"kind": "preference", "otherGenerationId": "...", "preferred":
/// "this"|"other"}; optionally who gave it (user) and a comment.
/// </summary>
public sealed record FeedbackRequest
{
    public const int MaxUserLength = 200;
    public const int MaxCommentLength = 4000;
    public const int MaxCorrectionLength = 100_000;

    public string? Kind { get; init; }
    public bool? Up { get; init; }
    public int? Rating { get; init; }
    public string? Correction { get; init; }
    public string? OtherGenerationId { get; init; }
    public string? Preferred { get; init; }
    public string? User { get; init; }
    public string? Comment { get; init; }

    /// <summary>The first thing wrong with the request, or null.</summary>
    public FieldError? Validate()
    {
        if (Kind is null)
            return new("$.kind", "is required: thumbs, rating, correction or preference");
        if (!FeedbackKinds.All.Contains(Kind))
            return new("$.kind", $"'{Kind}' is not a kind of feedback: thumbs, rating, correction or preference");
        var fields = new (string Field, bool Given, string Kind)[]
        {
            ("$.up", Up is not null, FeedbackKinds.Thumbs),
            ("$.rating", Rating is not null, FeedbackKinds.Rating),
            ("$.correction", Correction is not null, FeedbackKinds.Correction),
            ("$.otherGenerationId", OtherGenerationId is not null, FeedbackKinds.Preference),
            ("$.preferred", Preferred is not null, FeedbackKinds.Preference),
        };
        if (fields.FirstOrDefault(f => f.Given && f.Kind != Kind) is { Field: { } foreign })
            return new(foreign, $"is not a field of {Kind} feedback");
        var kindError = Kind switch
        {
            FeedbackKinds.Thumbs when Up is null => new FieldError("$.up", "is required: true for thumbs up, false for thumbs down"),
            FeedbackKinds.Rating when Rating is null or < 1 or > 5 => new FieldError("$.rating", "must be a whole number from 1 to 5"),
            FeedbackKinds.Correction when string.IsNullOrWhiteSpace(Correction) => new FieldError("$.correction", "must be the better answer, not empty"),
            FeedbackKinds.Correction when Correction!.Length > MaxCorrectionLength => new FieldError("$.correction", $"must be at most {MaxCorrectionLength} characters"),
            FeedbackKinds.Preference when string.IsNullOrEmpty(OtherGenerationId) => new FieldError("$.otherGenerationId", "is required: the generation this one is compared with"),
            FeedbackKinds.Preference when Preferred is not (PreferredAnswer.This or PreferredAnswer.Other) => new FieldError("$.preferred", "must be \"this\" or \"other\""),
            _ => null,
        };
        if (kindError is not null)
            return kindError;
        if (User is not null && (string.IsNullOrWhiteSpace(User) || User.Length > MaxUserLength))
            return new("$.user", $"must have 1 to {MaxUserLength} characters, not all blank");
        if (Comment?.Length > MaxCommentLength)
            return new("$.comment", $"must be at most {MaxCommentLength} characters");
        return null;
    }

    public NewFeedback ToNewFeedback(string user) => new(Kind!, Up, Rating, Correction, Preferred, user, Comment);
}

public sealed record FeedbackView(
    string Id,
    string GenerationId,
    string Model,
    string ModelVersionId,
    string Kind,
    bool? Up,
    int? Rating,
    string? Correction,
    string? OtherGenerationId,
    string? Preferred,
    string User,
    string? Comment,
    DateTime CreatedAt)
{
    public static FeedbackView Of(FeedbackItem item) => new(
        item.Id, item.GenerationId, item.Model, item.ModelVersionId, item.Kind, item.Up, item.Rating, item.Correction,
        item.OtherGenerationId, item.Preferred, item.User, item.Comment, item.CreatedAt);
}

public sealed record GenerationView(
    string Id,
    string Model,
    string ModelVersionId,
    string Kind,
    string Prompt,
    IReadOnlyList<StoredTurn> Messages,
    string Output,
    SamplingSettings Sampling,
    int PromptTokens,
    int CompletionTokens,
    string FinishReason,
    string? ApiKeyId,
    DateTime CreatedAt,
    IReadOnlyList<FeedbackView> Feedback)
{
    public static GenerationView Of(StoredGeneration g, IEnumerable<FeedbackItem> feedback) => new(
        g.Id, g.Model, g.ModelVersionId, g.Kind, g.Prompt, g.Messages, g.Output,
        new SamplingSettings(g.Temperature, g.TopK, g.TopP, g.Seed, g.MaxTokens, g.Stop),
        g.PromptTokens, g.CompletionTokens, g.FinishReason, g.ApiKeyId, g.CreatedAt,
        feedback.OrderBy(i => i.CreatedAt).ThenBy(i => i.Id, StringComparer.Ordinal).Select(FeedbackView.Of).ToList());
}

/// <summary>Feedback on single generations: giving it, reading a generation with its feedback, and the latest feedback.</summary>
public static class GenerationFeedbackApi
{
    public const int DefaultListLimit = 50;
    public const int MaxListLimit = 1000;
    public const string ApiKeyHeader = "X-Forge-Key-Id";

    public static RouteGroupBuilder MapGenerationFeedbackApi(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/api/feedback").WithTags("Feedback");
        group.MapPost("/generations/{generationId}", PostFeedbackAsync).WithName("PostFeedback")
            .WithSummary("Stores thumbs, a rating, a correction or a preference on a generation; an Idempotency-Key header makes retries store it once");
        group.MapGet("/generations/{generationId}", GetGenerationAsync).WithName("GetGenerationFeedback")
            .WithSummary("A generation (prompt, output, model version, sampling) with its feedback");
        group.MapGet("/items", ListFeedbackAsync).WithName("ListFeedback")
            .WithSummary("The latest feedback, newest first, optionally of one model, version or kind");
        return group;
    }

    private static async Task<Results<Created<FeedbackView>, Ok<FeedbackView>, ProblemHttpResult>> PostFeedbackAsync(
        string generationId,
        HttpRequest request,
        [FromHeader(Name = "Idempotency-Key")] string? idempotencyKey,
        [FromHeader(Name = ApiKeyHeader)] string? apiKeyId,
        FeedbackRecorder recorder,
        CancellationToken cancellationToken)
    {
        if (idempotencyKey is { Length: 0 or > 200 })
            return Problems.Invalid("Idempotency-Key", "The key must have 1 to 200 characters.");
        var (body, problem) = await JsonBody.ReadAsync<FeedbackRequest>(request, cancellationToken);
        if (problem is not null)
            return problem;
        if (body!.Validate() is { } error)
            return Problems.Invalid(error.Field, error.Message);
        if (await recorder.FindRetryAsync(generationId, idempotencyKey, cancellationToken) is { } stored)
            return TypedResults.Ok(FeedbackView.Of(stored));

        if (await recorder.WaitForGenerationAsync(generationId, cancellationToken) is not { } generation)
            return Problems.NotFound("generation", generationId);
        StoredGeneration? other = null;
        if (body.Kind == FeedbackKinds.Preference)
        {
            (other, var preferenceError) = await recorder.CheckPreferenceAsync(generation, body.OtherGenerationId!, cancellationToken);
            if (preferenceError is not null)
                return Problems.Invalid(preferenceError.Field, preferenceError.Message);
        }
        var user = body.User ?? (string.IsNullOrWhiteSpace(apiKeyId) ? "anonymous" : apiKeyId);
        var (item, created) = await recorder.RecordAsync(generation, body.ToNewFeedback(user), other, idempotencyKey, cancellationToken);
        return created
            ? TypedResults.Created($"/api/feedback/generations/{generationId}", FeedbackView.Of(item))
            : TypedResults.Ok(FeedbackView.Of(item));
    }

    private static async Task<Results<Ok<GenerationView>, ProblemHttpResult>> GetGenerationAsync(string generationId, FeedbackStore store, CancellationToken cancellationToken)
    {
        if (await store.Generations.GetAsync(generationId, cancellationToken) is not { } generation)
            return Problems.NotFound("generation", generationId);
        var feedback = await store.Items.FindAsync(i => i.GenerationId == generationId, cancellationToken: cancellationToken);
        return TypedResults.Ok(GenerationView.Of(generation, feedback));
    }

    private static async Task<Results<Ok<IReadOnlyList<FeedbackView>>, ProblemHttpResult>> ListFeedbackAsync(
        [FromQuery] string? model, [FromQuery] string? version, [FromQuery] string? kind, [FromQuery] int? limit, FeedbackStore store, CancellationToken cancellationToken)
    {
        if (kind is not null && !FeedbackKinds.All.Contains(kind))
            return Problems.Invalid("kind", "must be thumbs, rating, correction or preference");
        if (limit is < 1 or > MaxListLimit)
            return Problems.Invalid("limit", $"must be between 1 and {MaxListLimit}");
        var latest = new FindOptions<FeedbackItem> { SortBy = i => i.CreatedAt, Descending = true, Limit = limit ?? DefaultListLimit };
        var items = await store.Items.FindAsync(Matching((nameof(FeedbackItem.Model), model), (nameof(FeedbackItem.ModelVersionId), version), (nameof(FeedbackItem.Kind), kind)), latest, cancellationToken);
        return TypedResults.Ok<IReadOnlyList<FeedbackView>>(items.Select(FeedbackView.Of).ToList());
    }

    /// <summary>A filter of plain equalities on the given properties, which both metadata stores translate into queries.</summary>
    private static Expression<Func<FeedbackItem, bool>> Matching(params (string Property, string? Value)[] conditions)
    {
        var item = Expression.Parameter(typeof(FeedbackItem), "i");
        Expression? body = null;
        foreach (var (property, value) in conditions)
        {
            if (value is null)
                continue;
            var equal = Expression.Equal(Expression.Property(item, property), Expression.Constant(value));
            body = body is null ? equal : Expression.AndAlso(body, equal);
        }
        return Expression.Lambda<Func<FeedbackItem, bool>>(body ?? Expression.Constant(true), item);
    }
}
