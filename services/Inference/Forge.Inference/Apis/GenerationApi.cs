using System.Text.Json;
using Forge.Contracts;
using Forge.Inference.Domain;
using Forge.ServiceDefaults;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;

namespace Forge.Inference.Apis;

/// <summary>Forge's own generation request; every field but the prompt (or messages) is optional.</summary>
public sealed record CompletionBody
{
    public string? Model { get; init; }
    public string? Prompt { get; init; }
    public List<ChatTurn>? Messages { get; init; }
    public int? MaxTokens { get; init; }
    public double? Temperature { get; init; }
    public int? TopK { get; init; }
    public double? TopP { get; init; }
    public long? Seed { get; init; }
    public List<string>? Stop { get; init; }
    /// <summary>Generate MaxTokens tokens whatever comes (no stop at the end-of-text token), as vLLM's ignore_eos.</summary>
    public bool IgnoreEos { get; init; }
    /// <summary>Stream the text as Server-Sent Events: <c>token</c> events, then one <c>done</c> event with the stored generation.</summary>
    public bool Stream { get; init; }
}

public sealed record TokenEvent(string Id, string Text);

public static class GenerationApi
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    private static readonly Dictionary<string, string> FieldNames = new(StringComparer.Ordinal)
    {
        ["max_tokens"] = "maxTokens",
        ["top_p"] = "topP",
        ["top_k"] = "topK",
    };

    public static IEndpointRouteBuilder MapGenerationApi(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/api/inference").WithTags("Generation");
        group.MapPost("/completions", (HttpContext context, TextGeneration generation, InferenceOptions options) =>
                GenerateAsync(context, generation, options, GenerationRequest.CompletionKind))
            .WithName("Complete").WithSummary("Continues a prompt with the promoted (or a named) model version; streams with \"stream\": true");
        group.MapPost("/chat", (HttpContext context, TextGeneration generation, InferenceOptions options) =>
                GenerateAsync(context, generation, options, GenerationRequest.ChatKind))
            .WithName("Chat").WithSummary("The assistant's next turn in a conversation; streams with \"stream\": true");
        group.MapGet("/generations/{id}", async Task<Results<Ok<GenerationRecord>, ProblemHttpResult>> (string id, InferenceStore store, CancellationToken cancellationToken) =>
                await store.Generations.GetAsync(id, cancellationToken) is { } record ? TypedResults.Ok(record) : Problems.NotFound("generation", id))
            .WithName("GetGeneration").WithSummary("A stored generation: prompt, output, model version and sampling settings");
        group.MapGet("/generations", async (InferenceStore store, string? model, int? limit, CancellationToken cancellationToken) =>
                TypedResults.Ok(await store.Generations.FindAsync(g => model == null || g.Model == model,
                    new Storage.Metadata.FindOptions<GenerationRecord> { SortBy = g => g.CreatedAt, Descending = true, Limit = Math.Clamp(limit ?? 50, 1, 500) }, cancellationToken)))
            .WithName("ListGenerations").WithSummary("Recent generations, newest first");
        group.MapGet("/models", async (InferenceStore store, ModelCache cache, CancellationToken cancellationToken) =>
            {
                var models = await store.Models.FindAsync(_ => true, cancellationToken: cancellationToken);
                var versions = await store.Versions.FindAsync(_ => true, cancellationToken: cancellationToken);
                return TypedResults.Ok(new
                {
                    models = models.OrderBy(m => m.Id, StringComparer.Ordinal).Select(m => new { model = m.Id, promoted = m.PromotedVersionId, changedAt = m.ChangedAt }),
                    versions = versions.OrderBy(v => v.RegisteredAt).Select(v => v.Id),
                    loaded = cache.Loaded,
                });
            })
            .WithName("ServedModels").WithSummary("Models with their promoted versions, every known version, and the ones loaded now");
        return routes;
    }

    private static async Task<IResult> GenerateAsync(HttpContext context, TextGeneration generation, InferenceOptions options, string kind)
    {
        var cancellationToken = context.RequestAborted;
        var (body, problem) = await JsonBody.ReadAsync<CompletionBody>(context.Request, cancellationToken);
        if (problem is not null)
            return problem;
        if (kind == GenerationRequest.CompletionKind && body!.Prompt is null)
            return Problems.Invalid("prompt", "is required");
        if (kind == GenerationRequest.ChatKind && body!.Messages is null)
            return Problems.Invalid("messages", "is required");
        var request = new GenerationRequest
        {
            Kind = kind,
            Model = body!.Model,
            Prompt = body.Prompt ?? "",
            Messages = body.Messages ?? [],
            MaxTokens = body.MaxTokens,
            Temperature = body.Temperature,
            TopK = body.TopK,
            TopP = body.TopP,
            Seed = body.Seed,
            Stop = body.Stop ?? [],
            IgnoreEos = body.IgnoreEos,
            ApiKeyId = context.Request.Headers["X-Forge-Key-Id"].FirstOrDefault(),
        };
        TextGeneration.RunningGeneration running;
        try
        {
            running = await generation.StartAsync(request, options.DefaultMaxTokens, cancellationToken);
        }
        catch (Exception e) when (GenerationProblems.From(e, context, f => FieldNames.GetValueOrDefault(f, f), openAi: false) is { } answer)
        {
            return answer;
        }
        using (running)
        {
            if (!body.Stream)
            {
                await foreach (var _ in running.ReadAsync(cancellationToken))
                {
                }
                context.Response.Headers["X-Forge-Generation-Id"] = running.Id;
                return TypedResults.Ok(running.Record);
            }
            var events = EventStream.Start(context, running.Id);
            try
            {
                await foreach (var piece in running.ReadAsync(cancellationToken))
                    await events.WriteJsonAsync(new TokenEvent(running.Id, piece), Json, "token", cancellationToken);
                await events.WriteJsonAsync(running.Record, Json, "done", cancellationToken);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                // The client left: the generation stopped and was stored as cancelled; there is no one to answer.
            }
            return Results.Empty;
        }
    }
}
