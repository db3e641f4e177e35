using System.Text.RegularExpressions;
using Forge.Feedback.Domain;
using Forge.ServiceDefaults;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;

namespace Forge.Feedback.Apis;

/// <summary>
/// A model's retraining policy. Missing fields take their defaults: minNewExamples 1, minRatings 10, enabled true,
/// and no rating trigger without ratingBelow.
/// </summary>
public sealed record RetrainingPolicyRequest
{
    public const int MaxCount = 1_000_000;

    public int? MinNewFeedback { get; init; }
    public int? MinNewExamples { get; init; }
    public double? RatingBelow { get; init; }
    public int? MinRatings { get; init; }
    public bool? Enabled { get; init; }

    /// <summary>The checked policy, or the first thing wrong with the request.</summary>
    public (RetrainingPolicy? Policy, FieldError? Error) Validate()
    {
        if (MinNewFeedback is not { } minNewFeedback)
            return (null, new("$.minNewFeedback", "is required: how many new feedback items a retraining needs"));
        if (minNewFeedback is < 1 or > MaxCount)
            return (null, new("$.minNewFeedback", $"must be between 1 and {MaxCount}"));
        var minNewExamples = MinNewExamples ?? 1;
        if (minNewExamples < 1 || minNewExamples > minNewFeedback)
            return (null, new("$.minNewExamples", "must be at least 1 and at most minNewFeedback: examples are new feedback items that make SFT examples"));
        if (RatingBelow is { } below && (!double.IsFinite(below) || below <= 1 || below > 5))
            return (null, new("$.ratingBelow", "must be above 1 and at most 5: a mean rating below it triggers retraining"));
        var minRatings = MinRatings ?? 10;
        if (minRatings is < 1 or > MaxCount)
            return (null, new("$.minRatings", $"must be between 1 and {MaxCount}"));
        return (new RetrainingPolicy
        {
            MinNewFeedback = minNewFeedback,
            MinNewExamples = minNewExamples,
            RatingBelow = RatingBelow,
            MinRatings = minRatings,
            Enabled = Enabled ?? true,
        }, null);
    }
}

/// <summary>When a model asks for retraining on its feedback, and the retraining requests it made.</summary>
public static partial class RetrainingApi
{
    public const string ModelNameRule = "A model name is 1 to 64 characters: lowercase letters, digits, '.', '_' or '-', starting with a letter or digit.";

    public static RouteGroupBuilder MapRetrainingApi(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/api/feedback/models/{model}").WithTags("Retraining");
        group.MapPut("/policy", PutPolicyAsync).WithName("PutRetrainingPolicy")
            .WithSummary("Sets when the model asks for retraining: {minNewFeedback, minNewExamples, ratingBelow, minRatings, enabled}");
        group.MapGet("/policy", GetPolicyAsync).WithName("GetRetrainingPolicy").WithSummary("The model's retraining policy");
        group.MapGet("/retrainings", ListRetrainingsAsync).WithName("ListRetrainings")
            .WithSummary("The retraining requests of the model, oldest first: base version, reason, counts and the SFT file");
        return group;
    }

    /// <summary>The registry's model names; they also make safe artifact key segments.</summary>
    [GeneratedRegex("^[a-z0-9][a-z0-9._-]{0,63}$")]
    private static partial Regex ModelNamePattern();

    private static async Task<Results<Ok<RetrainingPolicy>, ProblemHttpResult>> PutPolicyAsync(
        string model, HttpRequest request, RetrainingTrigger trigger, CancellationToken cancellationToken)
    {
        if (!ModelNamePattern().IsMatch(model))
            return Problems.Invalid("model", ModelNameRule);
        var (body, problem) = await JsonBody.ReadAsync<RetrainingPolicyRequest>(request, cancellationToken);
        if (problem is not null)
            return problem;
        var (policy, error) = body!.Validate();
        if (error is not null)
            return Problems.Invalid(error.Field, error.Message);
        return TypedResults.Ok(await trigger.SetPolicyAsync(model, policy!, cancellationToken));
    }

    private static async Task<Results<Ok<RetrainingPolicy>, ProblemHttpResult>> GetPolicyAsync(string model, FeedbackStore store, CancellationToken cancellationToken) =>
        await store.Models.GetAsync(model, cancellationToken) is { Policy: { } policy }
            ? TypedResults.Ok(policy)
            : Problems.NotFound("retraining policy for model", model);

    private static async Task<Ok<IReadOnlyList<RetrainingRecord>>> ListRetrainingsAsync(string model, FeedbackStore store, CancellationToken cancellationToken)
    {
        var retrainings = await store.Retrainings.FindAsync(r => r.Model == model, new() { SortBy = r => r.RequestedAt }, cancellationToken);
        return TypedResults.Ok(retrainings);
    }
}
