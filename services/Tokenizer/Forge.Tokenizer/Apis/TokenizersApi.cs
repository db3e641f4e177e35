using Forge.Contracts;
using Forge.ServiceDefaults;
using Forge.Storage.Artifacts;
using Forge.Tokenization;
using Forge.Tokenizer.Domain;
using MassTransit;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;

namespace Forge.Tokenizer.Apis;

public sealed record TrainTokenizerRequest
{
    public string? Id { get; init; }
    public string? DatasetVersion { get; init; }
    public string? Kind { get; init; }
    public int? VocabularySize { get; init; }
    public long? MinFrequency { get; init; }
    public List<string>? SpecialTokens { get; init; }
    public string? Pattern { get; init; }
}

public sealed record TokenizeRequest(string? TokenizerId, string? DatasetVersion);

public sealed record EncodeRequest(string? Text);

public sealed record DecodeRequest(int[]? Ids);

public static class TokenizersApi
{
    public static IEndpointRouteBuilder MapTokenizersApi(this IEndpointRouteBuilder routes)
    {
        var tokenizers = routes.MapGroup("/api/tokenizer/tokenizers").WithTags("Tokenizers");
        tokenizers.MapPost("/", TrainAsync).WithName("TrainTokenizer").WithSummary("Trains a byte-level BPE or character tokenizer on a sealed dataset version, in the background");
        tokenizers.MapGet("/", ListAsync).WithName("ListTokenizers").WithSummary("Tokenizers");
        tokenizers.MapGet("/{tokenizerId}", GetAsync).WithName("GetTokenizer").WithSummary("A tokenizer: state, vocabulary size, compression, files");
        tokenizers.MapGet("/{tokenizerId}/files/{name}", FileAsync).WithName("GetTokenizerFile").WithSummary("tokenizer.json (Hugging Face), vocab.json and merges.txt (GPT-2), or char-tokenizer.json");
        tokenizers.MapPut("/{tokenizerId}", ImportAsync).WithName("ImportTokenizer").WithSummary("Imports a Hugging Face tokenizer.json (byte-level BPE)");
        tokenizers.MapPost("/{tokenizerId}/encode", EncodeAsync).WithName("Encode").WithSummary("Token ids of a text");
        tokenizers.MapPost("/{tokenizerId}/decode", DecodeAsync).WithName("Decode").WithSummary("The text of token ids");

        var tokenizations = routes.MapGroup("/api/tokenizer/tokenizations").WithTags("Tokenizations");
        tokenizations.MapPost("/", TokenizeAsync).WithName("TokenizeDataset").WithSummary("Encodes a sealed dataset version into train and validation token shards, in the background");
        tokenizations.MapGet("/{datasetVersion}/{tokenizerId}", GetTokenizationAsync).WithName("GetTokenization").WithSummary("Progress and result: shards, tokens, characters per token");
        return routes;
    }

    private static async Task<Results<Accepted<TokenizerRecord>, ProblemHttpResult>> TrainAsync(HttpRequest request, TokenizerJobs jobs, CancellationToken cancellationToken)
    {
        var (body, problem) = await JsonBody.ReadAsync<TrainTokenizerRequest>(request, cancellationToken);
        if (problem is not null)
            return problem;
        var defaults = new TokenizerSpec();
        var spec = new TokenizerSpec
        {
            Kind = body!.Kind ?? defaults.Kind,
            VocabularySize = body.VocabularySize ?? defaults.VocabularySize,
            MinFrequency = body.MinFrequency ?? defaults.MinFrequency,
            SpecialTokens = body.SpecialTokens ?? defaults.SpecialTokens,
            Pattern = body.Pattern ?? defaults.Pattern,
        };
        var submission = await jobs.SubmitTrainingAsync(body.Id ?? $"tok-{Guid.CreateVersion7():N}"[..20], body.DatasetVersion, spec, buildId: null, cancellationToken);
        return submission.Status switch
        {
            SubmissionStatus.Queued => TypedResults.Accepted($"/api/tokenizer/tokenizers/{submission.Record!.Id}", submission.Record),
            SubmissionStatus.Invalid => Problems.Invalid(submission.Field!, submission.Message!),
            SubmissionStatus.DatasetVersionUnknown => Problems.NotFound("dataset version", body.DatasetVersion!),
            _ => Problems.Conflict(submission.Message!),
        };
    }

    private static async Task<Results<Ok<TokenizerRecord>, ProblemHttpResult>> ImportAsync(
        string tokenizerId, HttpRequest request, TokenizerStore store, IArtifactStore artifacts, IPublishEndpoint publisher, TimeProvider clock, CancellationToken cancellationToken)
    {
        if (!TokenizerIds.IsValid(tokenizerId))
            return Problems.Invalid("id", TokenizerIds.Rule);
        using var body = new MemoryStream();
        await request.Body.CopyToAsync(body, cancellationToken);
        if (body.Length == 0)
            return Problems.BadRequest("Empty body", "Send a Hugging Face tokenizer.json.");
        BpeTokenizer tokenizer;
        try
        {
            body.Position = 0;
            tokenizer = TokenizerFiles.ReadHuggingFace(body);
        }
        catch (TokenizerFormatException e)
        {
            return Problems.Invalid(e.Location, e.Problem);
        }
        var key = $"tokenizers/{tokenizerId}/tokenizer.json";
        if (await store.Tokenizers.GetAsync(tokenizerId, cancellationToken) is not null)
            return Problems.Conflict($"Tokenizer '{tokenizerId}' already exists.");
        body.Position = 0;
        await artifacts.PutAsync(key, body, cancellationToken);
        var record = new TokenizerRecord
        {
            Id = tokenizerId,
            Spec = new TokenizerSpec { Kind = "bpe", VocabularySize = tokenizer.VocabularySize, SpecialTokens = [.. tokenizer.AddedTokens.Where(t => t.IsSpecial).Select(t => t.Content)] },
            State = JobState.Completed,
            CreatedAt = clock.GetUtcNow().UtcDateTime,
            FinishedAt = clock.GetUtcNow().UtcDateTime,
            VocabularySize = tokenizer.VocabularySize,
            Merges = tokenizer.MergeIds.Count,
            Files = new() { ["tokenizer.json"] = key },
        };
        if (!await store.Tokenizers.TryInsertAsync(record, cancellationToken))
            return Problems.Conflict($"Tokenizer '{tokenizerId}' already exists.");
        await publisher.Publish(new TokenizerTrained(tokenizerId, "bpe", tokenizer.VocabularySize, null, null), cancellationToken);
        return TypedResults.Ok(record);
    }

    private static async Task<Ok<IReadOnlyList<TokenizerRecord>>> ListAsync(TokenizerStore store, CancellationToken cancellationToken) =>
        TypedResults.Ok(await store.Tokenizers.FindAsync(_ => true, new() { SortBy = t => t.CreatedAt, Descending = true }, cancellationToken));

    private static async Task<Results<Ok<TokenizerRecord>, ProblemHttpResult>> GetAsync(string tokenizerId, TokenizerStore store, CancellationToken cancellationToken) =>
        await store.Tokenizers.GetAsync(tokenizerId, cancellationToken) is { } record ? TypedResults.Ok(record) : Problems.NotFound("tokenizer", tokenizerId);

    private static async Task<Results<FileStreamHttpResult, ProblemHttpResult>> FileAsync(string tokenizerId, string name, TokenizerStore store, IArtifactStore artifacts, CancellationToken cancellationToken)
    {
        if (await store.Tokenizers.GetAsync(tokenizerId, cancellationToken) is not { } record || !record.Files.TryGetValue(name, out var key))
            return Problems.NotFound("tokenizer file", $"{tokenizerId}/{name}");
        var contentType = name.EndsWith(".json", StringComparison.Ordinal) ? "application/json" : "text/plain";
        return TypedResults.File(await artifacts.OpenReadAsync(key, cancellationToken), contentType, name);
    }

    private static async Task<Results<Ok<int[]>, ProblemHttpResult>> EncodeAsync(string tokenizerId, EncodeRequest request, TokenizerStore store, IArtifactStore artifacts, CancellationToken cancellationToken)
    {
        if (request.Text is null)
            return Problems.Invalid("text", "Send the text to encode.");
        if (await LoadAsync(tokenizerId, store, artifacts, cancellationToken) is not { } tokenizer)
            return Problems.NotFound("tokenizer", tokenizerId);
        return TypedResults.Ok(tokenizer.Encode(request.Text));
    }

    private static async Task<Results<Ok<string>, ProblemHttpResult>> DecodeAsync(string tokenizerId, DecodeRequest request, TokenizerStore store, IArtifactStore artifacts, CancellationToken cancellationToken)
    {
        if (request.Ids is null)
            return Problems.Invalid("ids", "Send the token ids to decode.");
        if (await LoadAsync(tokenizerId, store, artifacts, cancellationToken) is not { } tokenizer)
            return Problems.NotFound("tokenizer", tokenizerId);
        if (request.Ids.FirstOrDefault(id => id < 0 || id >= tokenizer.VocabularySize, -1) is var bad && bad != -1)
            return Problems.Invalid("ids", $"{bad} is outside the vocabulary of {tokenizer.VocabularySize}.");
        return TypedResults.Ok(tokenizer.Decode(request.Ids));
    }

    private static async Task<ITokenizer?> LoadAsync(string tokenizerId, TokenizerStore store, IArtifactStore artifacts, CancellationToken cancellationToken) =>
        await store.Tokenizers.GetAsync(tokenizerId, cancellationToken) is { State: JobState.Completed } record
            ? await TokenizerLoader.LoadAsync(artifacts, record, cancellationToken)
            : null;

    private static async Task<Results<Accepted<TokenizationRecord>, Ok<TokenizationRecord>, ProblemHttpResult>> TokenizeAsync(
        TokenizeRequest request, TokenizerJobs jobs, CancellationToken cancellationToken)
    {
        var submission = await jobs.SubmitTokenizationAsync(request.TokenizerId, request.DatasetVersion, buildId: null, cancellationToken);
        return submission.Status switch
        {
            SubmissionStatus.Queued => TypedResults.Accepted($"/api/tokenizer/tokenizations/{submission.Record!.Id}", submission.Record),
            SubmissionStatus.Exists => TypedResults.Ok(submission.Record!),
            SubmissionStatus.Invalid => Problems.Invalid(submission.Field!, submission.Message!),
            SubmissionStatus.TokenizerUnknown => Problems.NotFound("tokenizer", request.TokenizerId!),
            SubmissionStatus.TokenizerNotTrained => Problems.Conflict(submission.Message!),
            _ => Problems.NotFound("dataset version", request.DatasetVersion!),
        };
    }

    private static async Task<Results<Ok<TokenizationRecord>, ProblemHttpResult>> GetTokenizationAsync(string datasetVersion, string tokenizerId, TokenizerStore store, CancellationToken cancellationToken) =>
        await store.Tokenizations.GetAsync($"{datasetVersion}/{tokenizerId}", cancellationToken) is { } record
            ? TypedResults.Ok(record)
            : Problems.NotFound("tokenization", $"{datasetVersion}/{tokenizerId}");
}
