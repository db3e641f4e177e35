using Forge.Evaluator.Domain;
using Forge.Metrics;
using Forge.ServiceDefaults;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;

namespace Forge.Evaluator.Apis;

/// <summary>Corpus metrics over given outputs and references: sacrebleu's BLEU and chrF, rouge-score's ROUGE.</summary>
public static class MetricsApi
{
    public static RouteGroupBuilder MapMetricsApi(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/api/evaluator/metrics").WithTags("Metrics");
        group.MapPost("/bleu", ScoreBleuAsync).WithName("ScoreBleu")
            .WithSummary("Corpus BLEU as sacrebleu computes it, with its n-gram statistics, precisions and brevity penalty");
        group.MapPost("/chrf", ScoreChrFAsync).WithName("ScoreChrF").WithSummary("Corpus chrF (or chrF++ with wordOrder 2) as sacrebleu computes it");
        group.MapPost("/rouge", ScoreRougeAsync).WithName("ScoreRouge")
            .WithSummary("ROUGE as rouge-score computes it per segment (best reference), averaged over the segments");
        return group;
    }

    private static Task<Results<Ok<BleuScore>, ProblemHttpResult>> ScoreBleuAsync(HttpRequest request, CancellationToken cancellationToken) =>
        ScoreAsync<BleuRequest, BleuOptions, BleuScore>(request, (segments, options) => Bleu.Corpus(segments.Hypotheses, segments.ReferenceSets, options), cancellationToken);

    private static Task<Results<Ok<ChrFScore>, ProblemHttpResult>> ScoreChrFAsync(HttpRequest request, CancellationToken cancellationToken) =>
        ScoreAsync<ChrFRequest, ChrFOptions, ChrFScore>(request, (segments, options) => ChrF.Corpus(segments.Hypotheses, segments.ReferenceSets, options), cancellationToken);

    private static Task<Results<Ok<RougeCorpusScore>, ProblemHttpResult>> ScoreRougeAsync(HttpRequest request, CancellationToken cancellationToken) =>
        ScoreAsync<RougeRequest, RougeOptions, RougeCorpusScore>(request, (segments, options) => CorpusRouge.Score(segments.Hypotheses, segments.ReferenceSets, options), cancellationToken);

    private static async Task<Results<Ok<TScore>, ProblemHttpResult>> ScoreAsync<TRequest, TOptions, TScore>(
        HttpRequest request, Func<Segments, TOptions, TScore> score, CancellationToken cancellationToken)
        where TRequest : MetricRequest<TOptions>
        where TOptions : class
    {
        var (body, problem) = await JsonBody.ReadAsync<TRequest>(request, cancellationToken);
        if (problem is not null)
            return problem;
        var (segments, options, error) = body!.Validate();
        if (error is not null)
            return Problems.Invalid(error.Field, error.Message);
        return TypedResults.Ok(score(segments!, options!));
    }
}
