using Forge.Orchestrator.Domain;
using Forge.ServiceDefaults;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;

namespace Forge.Orchestrator.Apis;

public sealed record ModelFamilyView(string Model, string? PromotedVersionId, IReadOnlyList<string> PreviouslyPromoted, PromotionPolicy Policy, DateTime CreatedAt)
{
    public static ModelFamilyView Of(ModelFamily family) =>
        new(family.Id, family.PromotedVersionId, family.PreviouslyPromoted, family.Policy, family.CreatedAt);
}

/// <summary>Models as families of versions: which version is promoted, which were before it, and the promotion policy.</summary>
public static class FamiliesApi
{
    public static RouteGroupBuilder MapFamiliesApi(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/api/orchestrator/families").WithTags("Model registry");
        group.MapGet("/", ListAsync).WithName("ListModelFamilies").WithSummary("Models with their promoted version");
        group.MapGet("/{model}", GetAsync).WithName("GetModelFamily").WithSummary("A model's promoted version, the ones promoted before it, and its promotion policy");
        group.MapPut("/{model}/policy", PutPolicyAsync).WithName("PutPromotionPolicy")
            .WithSummary("Sets a model's promotion policy: gates (eval set, metric, goal, threshold) and whether a candidate must beat the promoted version");
        return group;
    }

    private static async Task<Ok<IReadOnlyList<ModelFamilyView>>> ListAsync(RegistryStore store, CancellationToken cancellationToken)
    {
        var families = await store.Families.FindAsync(_ => true, new() { SortBy = f => f.Id }, cancellationToken);
        return TypedResults.Ok<IReadOnlyList<ModelFamilyView>>(families.Select(ModelFamilyView.Of).ToList());
    }

    private static async Task<Results<Ok<ModelFamilyView>, ProblemHttpResult>> GetAsync(string model, RegistryStore store, CancellationToken cancellationToken) =>
        await store.Families.GetAsync(model, cancellationToken) is { } family ? TypedResults.Ok(ModelFamilyView.Of(family)) : Problems.NotFound("model", model);

    private static async Task<Results<Ok<ModelFamilyView>, ProblemHttpResult>> PutPolicyAsync(
        string model, PromotionPolicy? policy, ModelRegistry registry, CancellationToken cancellationToken)
    {
        if (!ModelsApi.ModelNamePattern().IsMatch(model))
            return Problems.Invalid("model", ModelsApi.ModelNameRule);
        if (policy is null)
            return Problems.BadRequest("Empty body", "Send {\"gates\": [{\"evalSet\": \"...\", \"metric\": \"bleu\", \"threshold\": 20}], \"mustBeatPromoted\": true}.");
        if (policy.Validate() is { } problem)
            return Problems.Invalid(problem.Field, problem.Message);
        return TypedResults.Ok(ModelFamilyView.Of(await registry.SetPolicyAsync(model, policy, cancellationToken)));
    }
}
