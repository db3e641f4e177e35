using System.Text.Json;
using System.Text.Json.Serialization;
using Forge.Contracts;
using Forge.Inference.Domain;
using Forge.ServiceDefaults;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Forge.Inference.Apis;

/// <summary>
/// The OpenAI-compatible API (<c>/v1/models</c>, <c>/v1/completions</c>, <c>/v1/chat/completions</c>, streaming or
/// not), so OpenAI's SDKs and tools work against Forge. Requests are read as OpenAI documents them: a string or an
/// array of text parts for content, a string or array for stop, max_tokens or max_completion_tokens; fields Forge does
/// not use (penalties, logit_bias, tools...) are ignored, as OpenAI-compatible servers commonly do. The response ids are
/// Forge generation ids, so feedback can point at them. Model names are <c>{model}</c> (its promoted version) or
/// <c>{model}@{n}</c>.
/// </summary>
public static class OpenAiApi
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.General)
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DefaultIgnoreCondition = JsonIgnoreCondition.Never,
    };

    /// <summary>OpenAI's default for /v1/completions.</summary>
    private const int CompletionsDefaultMaxTokens = 16;

    public static IEndpointRouteBuilder MapOpenAiApi(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/v1").WithTags("OpenAI-compatible");
        group.MapGet("/models", ListModelsAsync).WithName("OpenAiModels").WithSummary("Served models and versions, as OpenAI lists models");
        group.MapPost("/completions", (HttpContext context, TextGeneration generation) => CompleteAsync(context, generation, chat: false))
            .WithName("OpenAiCompletions").WithSummary("OpenAI-compatible text completion (stream: true for Server-Sent Events)");
        group.MapPost("/chat/completions", (HttpContext context, TextGeneration generation, InferenceOptions options) => CompleteAsync(context, generation, chat: true, options.DefaultMaxTokens))
            .WithName("OpenAiChatCompletions").WithSummary("OpenAI-compatible chat completion (stream: true for Server-Sent Events)");
        return routes;
    }

    private static async Task<IResult> ListModelsAsync(InferenceStore store, CancellationToken cancellationToken)
    {
        var models = await store.Models.FindAsync(m => m.PromotedVersionId != null, cancellationToken: cancellationToken);
        var versions = await store.Versions.FindAsync(_ => true, cancellationToken: cancellationToken);
        var data = models.OrderBy(m => m.Id, StringComparer.Ordinal)
            .Select(m => new ModelEntry(m.Id, "model", new DateTimeOffset(m.ChangedAt).ToUnixTimeSeconds(), "forge"))
            .Concat(versions.OrderBy(v => v.RegisteredAt).Select(v => new ModelEntry(v.Id, "model", new DateTimeOffset(v.RegisteredAt).ToUnixTimeSeconds(), "forge")))
            .ToList();
        return Results.Json(new ModelList("list", data), Json);
    }

    private static async Task<IResult> CompleteAsync(HttpContext context, TextGeneration generation, bool chat, int chatDefaultMaxTokens = 0)
    {
        var cancellationToken = context.RequestAborted;
        ParsedRequest parsed;
        try
        {
            using var document = await JsonDocument.ParseAsync(context.Request.Body, cancellationToken: cancellationToken);
            parsed = Parse(document.RootElement, chat);
        }
        catch (JsonException e)
        {
            return GenerationProblems.Invalid("body", "is not valid JSON: " + e.Message, openAi: true);
        }
        catch (InvalidGenerationException e)
        {
            return GenerationProblems.Invalid(e.Field, e.Message, openAi: true);
        }
        var request = parsed.Request with { ApiKeyId = context.Request.Headers["X-Forge-Key-Id"].FirstOrDefault() };
        TextGeneration.RunningGeneration running;
        try
        {
            running = await generation.StartAsync(request, chat ? chatDefaultMaxTokens : CompletionsDefaultMaxTokens, cancellationToken);
        }
        catch (Exception e) when (GenerationProblems.From(e, context, f => f, openAi: true) is { } answer)
        {
            return answer;
        }
        using (running)
        {
            var model = request.Model is { Length: > 0 } asked ? asked : running.Version.Model;
            if (!parsed.Stream)
            {
                var text = new System.Text.StringBuilder();
                await foreach (var piece in running.ReadAsync(cancellationToken))
                    text.Append(piece);
                var record = running.Record!;
                var usage = new Usage(record.PromptTokens, record.CompletionTokens, record.PromptTokens + record.CompletionTokens);
                context.Response.Headers["X-Forge-Generation-Id"] = running.Id;
                context.Response.Headers["X-Forge-Model-Version"] = running.Version.Id;
                return chat
                    ? Results.Json(new ChatCompletion(running.Id, "chat.completion", running.CreatedUnixSeconds, model, running.Version.Id,
                        [new ChatChoice(0, new ChatMessage("assistant", record.Output), null, FinishReason(record.FinishReason))], usage), Json)
                    : Results.Json(new TextCompletion(running.Id, "text_completion", running.CreatedUnixSeconds, model, running.Version.Id,
                        [new TextChoice(record.Output, 0, null, FinishReason(record.FinishReason))], usage), Json);
            }

            var events = EventStream.Start(context, running.Id);
            try
            {
                if (chat)
                    await events.WriteJsonAsync(ChatChunk(running, model, new Delta("assistant", ""), null), Json, cancellationToken: cancellationToken);
                await foreach (var piece in running.ReadAsync(cancellationToken))
                {
                    object chunk = chat
                        ? ChatChunk(running, model, new Delta(null, piece), null)
                        : new TextCompletionChunk(running.Id, "text_completion", running.CreatedUnixSeconds, model, running.Version.Id, [new TextChoice(piece, 0, null, null)], null);
                    await events.WriteJsonAsync(chunk, Json, cancellationToken: cancellationToken);
                }
                var final = running.Record!;
                var finalUsage = new Usage(final.PromptTokens, final.CompletionTokens, final.PromptTokens + final.CompletionTokens);
                object last = chat
                    ? ChatChunk(running, model, new Delta(null, null), FinishReason(final.FinishReason))
                    : new TextCompletionChunk(running.Id, "text_completion", running.CreatedUnixSeconds, model, running.Version.Id, [new TextChoice("", 0, null, FinishReason(final.FinishReason))], null);
                await events.WriteJsonAsync(last, Json, cancellationToken: cancellationToken);
                if (parsed.IncludeUsage)
                {
                    object usageChunk = chat
                        ? new ChatCompletionChunk(running.Id, "chat.completion.chunk", running.CreatedUnixSeconds, model, running.Version.Id, [], finalUsage)
                        : new TextCompletionChunk(running.Id, "text_completion", running.CreatedUnixSeconds, model, running.Version.Id, [], finalUsage);
                    await events.WriteJsonAsync(usageChunk, Json, cancellationToken: cancellationToken);
                }
                await events.WriteAsync("[DONE]", cancellationToken: cancellationToken);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                // The client left: the generation stopped and was stored as cancelled; there is no one to answer.
            }
            return Results.Empty;
        }
    }

    private static ChatCompletionChunk ChatChunk(TextGeneration.RunningGeneration running, string model, Delta delta, string? finishReason) =>
        new(running.Id, "chat.completion.chunk", running.CreatedUnixSeconds, model, running.Version.Id, [new ChunkChoice(0, delta, null, finishReason)], null);

    /// <summary>OpenAI's finish reasons are stop and length; a cancelled generation never reaches a client.</summary>
    private static string FinishReason(string reason) => reason == "length" ? "length" : "stop";

    private sealed record ParsedRequest(GenerationRequest Request, bool Stream, bool IncludeUsage);

    private static ParsedRequest Parse(JsonElement body, bool chat)
    {
        if (body.ValueKind != JsonValueKind.Object)
            throw new InvalidGenerationException("body", "must be a JSON object");
        var model = OptionalString(body, "model");
        if (OptionalInt(body, "n") is { } n && n != 1)
            throw new InvalidGenerationException("n", "only n = 1 is supported");
        if (body.TryGetProperty("echo", out var echo) && echo.ValueKind == JsonValueKind.True)
            throw new InvalidGenerationException("echo", "is not supported");
        var stream = OptionalBool(body, "stream") ?? false;
        var includeUsage = body.TryGetProperty("stream_options", out var streamOptions) && streamOptions.ValueKind == JsonValueKind.Object
            && (OptionalBool(streamOptions, "include_usage", "stream_options.include_usage") ?? false);
        var maxTokens = OptionalInt(body, "max_completion_tokens") ?? OptionalInt(body, "max_tokens");
        var request = new GenerationRequest
        {
            Kind = chat ? GenerationRequest.ChatKind : GenerationRequest.CompletionKind,
            Model = model,
            MaxTokens = maxTokens,
            Temperature = OptionalDouble(body, "temperature"),
            TopP = OptionalDouble(body, "top_p"),
            TopK = OptionalInt(body, "top_k"),
            Seed = OptionalLong(body, "seed"),
            Stop = Stops(body),
            IgnoreEos = OptionalBool(body, "ignore_eos") ?? false, // vLLM's extension
        };
        request = chat ? request with { Messages = Messages(body) } : request with { Prompt = Prompt(body) };
        return new ParsedRequest(request, stream, includeUsage);
    }

    private static string Prompt(JsonElement body)
    {
        if (!body.TryGetProperty("prompt", out var prompt) || prompt.ValueKind == JsonValueKind.Null)
            throw new InvalidGenerationException("prompt", "is required");
        if (prompt.ValueKind == JsonValueKind.String)
            return prompt.GetString()!;
        if (prompt.ValueKind == JsonValueKind.Array && prompt.GetArrayLength() == 1 && prompt[0].ValueKind == JsonValueKind.String)
            return prompt[0].GetString()!;
        throw new InvalidGenerationException("prompt", "must be a string (or an array of one string; token arrays and batches are not supported)");
    }

    private static List<ChatTurn> Messages(JsonElement body)
    {
        if (!body.TryGetProperty("messages", out var messages) || messages.ValueKind != JsonValueKind.Array)
            throw new InvalidGenerationException("messages", "must be an array of messages");
        var turns = new List<ChatTurn>();
        var i = 0;
        foreach (var message in messages.EnumerateArray())
        {
            if (message.ValueKind != JsonValueKind.Object)
                throw new InvalidGenerationException($"messages[{i}]", "must be an object with role and content");
            var role = OptionalString(message, "role", $"messages[{i}].role") ?? throw new InvalidGenerationException($"messages[{i}].role", "is required");
            role = role == "developer" ? "system" : role; // newer SDKs call the system prompt "developer"
            if (!message.TryGetProperty("content", out var content) || content.ValueKind == JsonValueKind.Null)
                throw new InvalidGenerationException($"messages[{i}].content", "is required");
            string text;
            if (content.ValueKind == JsonValueKind.String)
                text = content.GetString()!;
            else if (content.ValueKind == JsonValueKind.Array)
            {
                var parts = new List<string>();
                var p = 0;
                foreach (var part in content.EnumerateArray())
                {
                    if (part.ValueKind != JsonValueKind.Object || OptionalString(part, "type", $"messages[{i}].content[{p}].type") != "text")
                        throw new InvalidGenerationException($"messages[{i}].content[{p}]", "only text parts ({\"type\": \"text\", \"text\": ...}) are supported");
                    parts.Add(OptionalString(part, "text", $"messages[{i}].content[{p}].text") ?? "");
                    p++;
                }
                text = string.Concat(parts);
            }
            else
                throw new InvalidGenerationException($"messages[{i}].content", "must be a string or an array of text parts");
            turns.Add(new ChatTurn(role, text));
            i++;
        }
        return turns;
    }

    private static List<string> Stops(JsonElement body)
    {
        if (!body.TryGetProperty("stop", out var stop) || stop.ValueKind == JsonValueKind.Null)
            return [];
        if (stop.ValueKind == JsonValueKind.String)
            return [stop.GetString()!];
        if (stop.ValueKind == JsonValueKind.Array && stop.EnumerateArray().All(s => s.ValueKind == JsonValueKind.String))
            return [.. stop.EnumerateArray().Select(s => s.GetString()!)];
        throw new InvalidGenerationException("stop", "must be a string or an array of strings");
    }

    private static string? OptionalString(JsonElement body, string name, string? field = null) =>
        !body.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null ? null
        : value.ValueKind == JsonValueKind.String ? value.GetString()
        : throw new InvalidGenerationException(field ?? name, "must be a string");

    private static bool? OptionalBool(JsonElement body, string name, string? field = null) =>
        !body.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null ? null
        : value.ValueKind is JsonValueKind.True or JsonValueKind.False ? value.GetBoolean()
        : throw new InvalidGenerationException(field ?? name, "must be true or false");

    private static double? OptionalDouble(JsonElement body, string name) =>
        !body.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null ? null
        : value.ValueKind == JsonValueKind.Number ? value.GetDouble()
        : throw new InvalidGenerationException(name, "must be a number");

    private static long? OptionalLong(JsonElement body, string name) =>
        !body.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null ? null
        : value.ValueKind == JsonValueKind.Number && value.TryGetInt64(out var whole) ? whole
        : throw new InvalidGenerationException(name, "must be a whole number");

    private static int? OptionalInt(JsonElement body, string name) =>
        OptionalLong(body, name) is not { } value ? null
        : value is >= int.MinValue and <= int.MaxValue ? (int)value
        : throw new InvalidGenerationException(name, "is out of range");

    private sealed record ModelEntry(string Id, string Object, long Created, string OwnedBy);
    private sealed record ModelList(string Object, List<ModelEntry> Data);
    private sealed record Usage(int PromptTokens, int CompletionTokens, int TotalTokens);
    private sealed record ChatMessage(string Role, string Content);
    private sealed record ChatChoice(int Index, ChatMessage Message, object? Logprobs, string FinishReason);
    private sealed record ChatCompletion(string Id, string Object, long Created, string Model, string SystemFingerprint, List<ChatChoice> Choices, Usage Usage);
    private sealed record Delta([property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Role,
        [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Content);
    private sealed record ChunkChoice(int Index, Delta Delta, object? Logprobs, string? FinishReason);
    private sealed record ChatCompletionChunk(string Id, string Object, long Created, string Model, string SystemFingerprint, List<ChunkChoice> Choices,
        [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] Usage? Usage);
    private sealed record TextChoice(string Text, int Index, object? Logprobs, string? FinishReason);
    private sealed record TextCompletion(string Id, string Object, long Created, string Model, string SystemFingerprint, List<TextChoice> Choices, Usage Usage);
    private sealed record TextCompletionChunk(string Id, string Object, long Created, string Model, string SystemFingerprint, List<TextChoice> Choices,
        [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] Usage? Usage);
}
