using Forge.Evaluator.Domain;
using Forge.ServiceDefaults;
using Forge.Storage.Metadata;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Routing;

namespace Forge.Evaluator.Apis;

/// <summary>Outputs to score on an eval set, one per example in order; a model version's outputs are announced to the registry.</summary>
public sealed record EvaluateRequest
{
    public List<string?>? Outputs { get; init; }

    public string? ModelVersionId { get; init; }
}

/// <summary>Scoring given outputs on a stored eval set (the model that generates them runs elsewhere).</summary>
public static class EvaluationsApi
{
    public static RouteGroupBuilder MapEvaluationsApi(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/api/evaluator").WithTags("Evaluations");
        group.MapPost("/evalsets/{name}/evaluations", EvaluateAsync).WithName("Evaluate")
            .WithSummary("Scores outputs on an eval set (BLEU, chrF, ROUGE; corpus and per example) and keeps the report; with a modelVersionId, publishes EvaluationCompleted");
        group.MapGet("/evaluations", ListEvaluationsAsync).WithName("ListEvaluations").WithSummary("Evaluations, optionally of one eval set or model version");
        group.MapGet("/evaluations/{id}", GetEvaluationAsync).WithName("GetEvaluation").WithSummary("An evaluation's report with every example");
        return group;
    }

    private static async Task<Results<Created<EvaluationReport>, ProblemHttpResult>> EvaluateAsync(
        string name, HttpRequest request, EvaluatorStore store, EvaluationRecorder recorder, CancellationToken cancellationToken)
    {
        var (body, problem) = await JsonBody.ReadAsync<EvaluateRequest>(request, cancellationToken);
        if (problem is not null)
            return problem;
        if (await store.EvalSets.GetAsync(name, cancellationToken) is not { } evalSet)
            return Problems.NotFound("eval set", name);
        if (body!.Outputs is not { } outputs)
            return Problems.Invalid("$.outputs", "is required: an array of strings, one per example in the eval set's order");
        if (outputs.Count != evalSet.ExampleCount)
            return Problems.Invalid("$.outputs", $"has {outputs.Count} outputs for the {evalSet.ExampleCount} examples of '{name}'");
        if (outputs.IndexOf(null) is var nullOutput and >= 0)
            return Problems.Invalid($"$.outputs[{nullOutput}]", "is null: send a string (\"\" for an empty output)");
        if (body.ModelVersionId is { Length: 0 or > 200 })
            return Problems.Invalid("$.modelVersionId", "must have 1 to 200 characters");

        var report = await recorder.RecordAsync(evalSet, outputs.Select(o => o!).ToList(), body.ModelVersionId, cancellationToken);
        return TypedResults.Created($"/api/evaluator/evaluations/{report.Id}", report);
    }

    private static async Task<Ok<IReadOnlyList<Evaluation>>> ListEvaluationsAsync(
        [FromQuery] string? evalSet, [FromQuery] string? modelVersionId, EvaluatorStore store, CancellationToken cancellationToken)
    {
        var byDate = new FindOptions<Evaluation> { SortBy = e => e.CreatedAt };
        var evaluations = evalSet is not null ? await store.Evaluations.FindAsync(e => e.EvalSet == evalSet, byDate, cancellationToken)
            : modelVersionId is not null ? await store.Evaluations.FindAsync(e => e.ModelVersionId == modelVersionId, byDate, cancellationToken)
            : await store.Evaluations.FindAsync(_ => true, byDate, cancellationToken);
        return TypedResults.Ok<IReadOnlyList<Evaluation>>(evaluations.Where(e => modelVersionId is null || e.ModelVersionId == modelVersionId).ToList());
    }

    private static async Task<Results<Ok<EvaluationReport>, ProblemHttpResult>> GetEvaluationAsync(
        string id, EvaluatorStore store, EvaluationRecorder recorder, CancellationToken cancellationToken)
    {
        if (await store.Evaluations.GetAsync(id, cancellationToken) is not { } evaluation)
            return Problems.NotFound("evaluation", id);
        return TypedResults.Ok(await recorder.ReadReportAsync(evaluation, cancellationToken));
    }
}
