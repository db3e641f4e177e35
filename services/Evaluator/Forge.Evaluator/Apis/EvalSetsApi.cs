using Forge.Evaluator.Domain;
using Forge.ServiceDefaults;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;

namespace Forge.Evaluator.Apis;

public sealed record EvalSetSummary(string Name, int ExampleCount, int MaxReferences, string Sha256, string ArtifactKey, long Bytes, DateTime CreatedAt)
{
    public static EvalSetSummary Of(EvalSetRecord record) =>
        new(record.Id, record.ExampleCount, record.MaxReferences, record.Sha256, record.ArtifactKey, record.Bytes, record.CreatedAt);
}

public sealed record EvalSetView(EvalSetSummary EvalSet, IReadOnlyList<EvalExample> Examples);

/// <summary>Task eval sets: JSONL of prompts with their references, stored once under a name and never changed.</summary>
public static class EvalSetsApi
{
    public static RouteGroupBuilder MapEvalSetsApi(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/api/evaluator/evalsets").WithTags("Eval sets");
        group.MapPost("/{name}", UploadEvalSetAsync).WithName("UploadEvalSet")
            .WithSummary("Stores an NDJSON body, one {prompt, references[], id?} per line, as an eval set; a bad line refuses the whole set");
        group.MapGet("/", ListEvalSetsAsync).WithName("ListEvalSets").WithSummary("Lists eval sets");
        group.MapGet("/{name}", GetEvalSetAsync).WithName("GetEvalSet").WithSummary("An eval set with its examples");
        return group;
    }

    private static async Task<Results<Created<EvalSetSummary>, Ok<EvalSetSummary>, ProblemHttpResult>> UploadEvalSetAsync(
        string name, HttpRequest request, EvalSetLibrary library, CancellationToken cancellationToken)
    {
        if (!EvalSetLibrary.NamePattern().IsMatch(name))
            return Problems.Invalid("name", "An eval set name is 1 to 64 characters: lowercase letters, digits, '.', '_' or '-', starting with a letter or digit.");
        if (request.ContentType is { } contentType
            && !contentType.Contains("json", StringComparison.OrdinalIgnoreCase)
            && !contentType.StartsWith("text/", StringComparison.OrdinalIgnoreCase))
            return Problems.UnsupportedMediaType($"Send the examples as application/x-ndjson, one JSON object per line, not {contentType}.");

        // Kestrel enforces the body limit while this reads, answering 413 through the exception handler.
        using var body = new MemoryStream();
        await request.Body.CopyToAsync(body, cancellationToken);
        if (body.Length == 0)
            return Problems.BadRequest("Empty body", "Send one {\"prompt\": \"...\", \"references\": [\"...\"]} object per line.");
        var (examples, error) = EvalSetParser.Parse(body.GetBuffer().AsMemory(0, (int)body.Length));
        if (error is not null)
            return Problems.Invalid(error.Field, error.Message);

        var (record, result) = await library.StoreAsync(name, examples!, cancellationToken);
        var summary = EvalSetSummary.Of(record);
        return result switch
        {
            EvalSetStoreResult.Created => TypedResults.Created($"/api/evaluator/evalsets/{name}", summary),
            EvalSetStoreResult.Unchanged => TypedResults.Ok(summary),
            _ => Problems.Conflict($"Eval set '{name}' already holds other examples (sha256 {record.Sha256}); an eval set never changes, so upload these under a new name."),
        };
    }

    private static async Task<Ok<IReadOnlyList<EvalSetSummary>>> ListEvalSetsAsync(EvaluatorStore store, CancellationToken cancellationToken)
    {
        var sets = await store.EvalSets.FindAsync(_ => true, new() { SortBy = s => s.Id }, cancellationToken);
        return TypedResults.Ok<IReadOnlyList<EvalSetSummary>>(sets.Select(EvalSetSummary.Of).ToList());
    }

    private static async Task<Results<Ok<EvalSetView>, ProblemHttpResult>> GetEvalSetAsync(
        string name, EvaluatorStore store, EvalSetLibrary library, CancellationToken cancellationToken)
    {
        if (await store.EvalSets.GetAsync(name, cancellationToken) is not { } record)
            return Problems.NotFound("eval set", name);
        return TypedResults.Ok(new EvalSetView(EvalSetSummary.Of(record), await library.ReadExamplesAsync(record, cancellationToken)));
    }
}
