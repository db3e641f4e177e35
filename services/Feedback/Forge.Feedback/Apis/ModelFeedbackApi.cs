using Forge.Feedback.Domain;
using Forge.ServiceDefaults;
using Forge.Storage.Metadata;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;

namespace Forge.Feedback.Apis;

/// <summary>A model's feedback as a whole: per-version summaries, and the training data it makes (see <see cref="FeedbackExporter"/> for the rules).</summary>
public static class ModelFeedbackApi
{
    public const string JsonLines = "application/x-ndjson";

    public static RouteGroupBuilder MapModelFeedbackApi(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/api/feedback/models/{model}").WithTags("Model feedback");
        group.MapGet("/summary", GetSummaryAsync).WithName("GetFeedbackSummary")
            .WithSummary("Per model version: counts by kind, thumbs up and down with their ratio, mean rating, corrections, preference wins and losses, and a per-day trend");
        group.MapGet("/export/sft", (string model, FeedbackStore store, FeedbackExporter exporter, CancellationToken cancellationToken) =>
                ExportAsync(model, store, exporter.WriteSftAsync, cancellationToken))
            .WithName("ExportSft").WithSummary("JSONL of {prompt, completion}: corrections and well-rated answers (chat adds messages)");
        group.MapGet("/export/preferences", (string model, FeedbackStore store, FeedbackExporter exporter, CancellationToken cancellationToken) =>
                ExportAsync(model, store, exporter.WritePreferencesAsync, cancellationToken))
            .WithName("ExportPreferences").WithSummary("JSONL of {prompt, chosen, rejected}: preferences, and corrections over the answers they correct");
        group.MapGet("/export/unpaired", (string model, FeedbackStore store, FeedbackExporter exporter, CancellationToken cancellationToken) =>
                ExportAsync(model, store, exporter.WriteUnpairedAsync, cancellationToken))
            .WithName("ExportUnpaired").WithSummary("JSONL of {prompt, completion, label}: answers labelled by thumbs and clear ratings (KTO style)");
        return group;
    }

    /// <summary>A model is known once this service has stored one of its generations.</summary>
    public static async Task<bool> IsKnownAsync(FeedbackStore store, string model, CancellationToken cancellationToken) =>
        await store.Generations.FindOneAsync(g => g.Model == model, cancellationToken) is not null;

    private static async Task<Results<Ok<ModelSummary>, ProblemHttpResult>> GetSummaryAsync(string model, FeedbackStore store, CancellationToken cancellationToken)
    {
        if (!await IsKnownAsync(store, model, cancellationToken))
            return Problems.NotFound("model", model);
        var feedback = await store.Items.FindAsync(i => i.Model == model, cancellationToken: cancellationToken);
        return TypedResults.Ok(FeedbackSummary.Of(model, feedback));
    }

    private static async Task<Results<PushStreamHttpResult, ProblemHttpResult>> ExportAsync(
        string model, FeedbackStore store, Func<string, Stream, CancellationToken, Task<int>> write, CancellationToken cancellationToken)
    {
        if (!await IsKnownAsync(store, model, cancellationToken))
            return Problems.NotFound("model", model);
        return TypedResults.Stream(body => write(model, body, cancellationToken), JsonLines);
    }
}
