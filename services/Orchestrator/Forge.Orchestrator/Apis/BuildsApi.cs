using System.Text;
using System.Text.Json;
using Forge.Orchestrator.Domain;
using Forge.Recipes;
using Forge.ServiceDefaults;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;

namespace Forge.Orchestrator.Apis;

/// <summary>A recipe sent as JSON: its YAML text and the folder its relative paths start from.</summary>
public sealed record BuildRequest
{
    public string? Recipe { get; init; }
    public string? BaseFolder { get; init; }
    /// <summary>A file or folder to train on instead of the recipe's data sources (absolute, on the services' machine).</summary>
    public string? Corpus { get; init; }
}

/// <summary>Runs recipes as builds: submit, follow, cancel, retry.</summary>
public static class BuildsApi
{
    public static RouteGroupBuilder MapBuildsApi(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/api/orchestrator/builds").WithTags("Builds");
        group.MapPost("/", SubmitAsync).WithName("SubmitBuild")
            .WithSummary("Validates a recipe (YAML body, or JSON {recipe, baseFolder}) and starts its build; a bad recipe gets 422 naming each field and line, and nothing runs");
        group.MapGet("/", async (BuildStore store, CancellationToken cancellationToken) =>
                TypedResults.Ok(await store.Builds.FindAsync(_ => true, new() { SortBy = b => b.CreatedAt, Descending = true, Limit = 100 }, cancellationToken)))
            .WithName("ListBuilds").WithSummary("Builds, newest first");
        group.MapGet("/{buildId}", async Task<Results<Ok<Build>, ProblemHttpResult>> (string buildId, BuildStore store, CancellationToken cancellationToken) =>
                await store.Builds.GetAsync(buildId, cancellationToken) is { } build ? TypedResults.Ok(build) : Problems.NotFound("build", buildId))
            .WithName("GetBuild").WithSummary("A build: its stages with progress, what each produced, and why one failed");
        group.MapPost("/{buildId}/cancel", async Task<Results<Accepted<Build>, ProblemHttpResult>> (string buildId, BuildStore store, BuildManager builds, CancellationToken cancellationToken) =>
            {
                if (await store.Builds.GetAsync(buildId, cancellationToken) is not { } build)
                    return Problems.NotFound("build", buildId);
                return await builds.CancelAsync(buildId, cancellationToken) is { } cancelled
                    ? TypedResults.Accepted($"/api/orchestrator/builds/{buildId}", cancelled)
                    : Problems.Conflict($"Build {buildId} is {build.State}; only a running build can be cancelled.");
            })
            .WithName("CancelBuild").WithSummary("Stops a running build (and its pretraining run)");
        group.MapPost("/{buildId}/retry", async Task<Results<Accepted<Build>, ProblemHttpResult>> (string buildId, BuildStore store, BuildManager builds, CancellationToken cancellationToken) =>
            {
                if (await store.Builds.GetAsync(buildId, cancellationToken) is not { } build)
                    return Problems.NotFound("build", buildId);
                return await builds.RetryAsync(buildId, cancellationToken) is { } retried
                    ? TypedResults.Accepted($"/api/orchestrator/builds/{buildId}", retried)
                    : Problems.Conflict($"Build {buildId} is {build.State}; only a failed build can be retried.");
            })
            .WithName("RetryBuild").WithSummary("Starts a failed build again at the stage that failed; finished stages are kept");
        return group;
    }

    private static async Task<Results<Accepted<Build>, ProblemHttpResult>> SubmitAsync(HttpRequest request, BuildManager builds, CancellationToken cancellationToken)
    {
        string yaml;
        string baseFolder;
        string? corpus = null;
        if (request.ContentType?.Contains("json", StringComparison.OrdinalIgnoreCase) == true)
        {
            var (body, problem) = await JsonBody.ReadAsync<BuildRequest>(request, cancellationToken);
            if (problem is not null)
                return problem;
            if (string.IsNullOrWhiteSpace(body!.Recipe))
                return Problems.Invalid("recipe", "is required: the recipe's YAML text");
            yaml = body.Recipe;
            baseFolder = body.BaseFolder ?? Directory.GetCurrentDirectory();
            corpus = body.Corpus;
        }
        else
        {
            using var reader = new StreamReader(request.Body, Encoding.UTF8);
            yaml = await reader.ReadToEndAsync(cancellationToken);
            baseFolder = request.Query["baseFolder"].FirstOrDefault() ?? Directory.GetCurrentDirectory();
        }
        if (!Path.IsPathFullyQualified(baseFolder))
            return Problems.Invalid("baseFolder", "must be an absolute path");

        if (corpus is not null && (!Path.IsPathFullyQualified(corpus) || !(File.Exists(corpus) || Directory.Exists(corpus))))
            return Problems.Invalid("corpus", $"'{corpus}' is not an absolute path to an existing file or folder");
        // A corpus given on the side replaces the recipe's sources, so those need not exist.
        var result = RecipeReader.Read(yaml, baseFolder, checkPaths: corpus is null);
        if (result.Recipe is not { } recipe)
        {
            var errors = result.Errors.GroupBy(e => e.Field).ToDictionary(g => g.Key, g => g.Select(e => $"line {e.Line}, column {e.Column}: {e.Message}").ToArray());
            return TypedResults.Problem(
                title: "Invalid recipe",
                detail: string.Join("; ", result.Errors.Select(e => $"line {e.Line}, column {e.Column}, {e.Field}: {e.Message}")),
                statusCode: StatusCodes.Status422UnprocessableEntity,
                extensions: new Dictionary<string, object?>
                {
                    ["errors"] = errors,
                    ["recipeErrors"] = result.Errors.Select(e => new { line = e.Line, column = e.Column, field = e.Field, message = e.Message }).ToList(),
                });
        }
        if (corpus is not null)
            recipe = recipe with { Sources = [new DataSource(corpus)] };
        var build = await builds.StartAsync(recipe, cancellationToken);
        return TypedResults.Accepted($"/api/orchestrator/builds/{build.Id}", build);
    }
}
