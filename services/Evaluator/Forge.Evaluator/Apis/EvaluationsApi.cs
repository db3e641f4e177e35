using Forge.Evaluator.Domain;
using Forge.Model;
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

/// <summary>What a model version generates for an eval set's prompts; temperature 0 (the default) is greedy.</summary>
public sealed record GenerateRequest
{
    public string? ModelVersionId { get; init; }
    public int? MaxNewTokens { get; init; }
    public double? Temperature { get; init; }
    public long? Seed { get; init; }
}

/// <summary>Scoring an eval set: on outputs given in the request, or on what a registered model version generates.</summary>
public static class EvaluationsApi
{
    public static RouteGroupBuilder MapEvaluationsApi(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/api/evaluator").WithTags("Evaluations");
        group.MapPost("/evalsets/{name}/evaluations", EvaluateAsync).WithName("Evaluate")
            .WithSummary("Scores outputs on an eval set (BLEU, chrF, ROUGE; corpus and per example) and keeps the report; with a modelVersionId, publishes EvaluationCompleted");
        group.MapPost("/evalsets/{name}/generations", GenerateAsync).WithName("GenerateAndEvaluate")
            .WithSummary("Generates an answer to every prompt with a registered model version (each ends at its end-of-text token, as served), scores them like given outputs, and publishes EvaluationCompleted");
        group.MapGet("/evaluations", ListEvaluationsAsync).WithName("ListEvaluations").WithSummary("Evaluations, optionally of one eval set or model version");
        group.MapGet("/evaluations/{id}", GetEvaluationAsync).WithName("GetEvaluation").WithSummary("An evaluation's report with every example");
        return group;
    }

    private static async Task<Results<Created<EvaluationReport>, ProblemHttpResult>> GenerateAsync(
        string name, HttpRequest request, EvaluatorStore store, EvalSetGenerator generator, EvaluationRecorder recorder, CancellationToken cancellationToken)
    {
        var (body, problem) = await JsonBody.ReadAsync<GenerateRequest>(request, cancellationToken);
        if (problem is not null)
            return problem;
        if (string.IsNullOrEmpty(body!.ModelVersionId))
            return Problems.Invalid("$.modelVersionId", "Name the registered model version to generate with.");
        if (body.MaxNewTokens is < 1 or > EvalSetGenerator.MaxNewTokensLimit)
            return Problems.Invalid("$.maxNewTokens", $"must be between 1 and {EvalSetGenerator.MaxNewTokensLimit}");
        if (body.Temperature is < 0 or > 5)
            return Problems.Invalid("$.temperature", "must be between 0 and 5");
        if (await store.EvalSets.GetAsync(name, cancellationToken) is not { } evalSet)
            return Problems.NotFound("eval set", name);
        if (await store.ModelVersions.GetAsync(body.ModelVersionId, cancellationToken) is not { } version)
            return Problems.NotFound("model version", body.ModelVersionId);

        var options = new GenerationOptions { MaxNewTokens = body.MaxNewTokens ?? 64, Temperature = body.Temperature ?? 0, Seed = body.Seed ?? 1 };
        if (await generator.GenerateAsync(evalSet, version, options, cancellationToken) is not { } outputs)
            return Problems.Conflict($"The tokenizer '{version.TokenizerId}' of {version.Id} is not in the artifact store.");
        var report = await recorder.RecordAsync(evalSet, outputs, version.Id, evaluationId: null, cancellationToken);
        return TypedResults.Created($"/api/evaluator/evaluations/{report.Id}", report);
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

        var report = await recorder.RecordAsync(evalSet, outputs.Select(o => o!).ToList(), body.ModelVersionId, evaluationId: null, cancellationToken);
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
