using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Threading.Channels;
using Forge.Contracts;
using Forge.Model;
using Forge.Serving;
using Forge.Tokenization;
using MassTransit;
using Microsoft.Extensions.Logging;

namespace Forge.Inference.Domain;

/// <summary>A request the service will not run, naming the request field at fault (the APIs answer 422).</summary>
public sealed class InvalidGenerationException(string field, string message) : Exception(message)
{
    public string Field { get; } = field;
}

/// <summary>An API key already runs as many generations as it may (the APIs answer 429).</summary>
public sealed class TooManyGenerationsException(string message) : Exception(message);

/// <summary>What to generate: a completion of <see cref="Prompt"/>, or the next assistant turn of <see cref="Messages"/>.</summary>
public sealed record GenerationRequest
{
    public const string CompletionKind = "completion";
    public const string ChatKind = "chat";

    public required string Kind { get; init; }
    public string? Model { get; init; }
    public string Prompt { get; init; } = "";
    public IReadOnlyList<ChatTurn> Messages { get; init; } = [];
    public int? MaxTokens { get; init; }
    public double? Temperature { get; init; }
    public int? TopK { get; init; }
    public double? TopP { get; init; }
    public long? Seed { get; init; }
    public IReadOnlyList<string> Stop { get; init; } = [];
    /// <summary>Keep generating past the end-of-text (and role) tokens until MaxTokens, as vLLM's ignore_eos does: for benchmarks and load tests.</summary>
    public bool IgnoreEos { get; init; }
    public string? ApiKeyId { get; init; }
}

/// <summary>
/// Runs generations: resolves and leases the model, checks the request against the limits, encodes the prompt (or
/// the conversation, bounded by the context), then decodes with the KV cache on a worker thread while the caller
/// reads the text as it becomes final. The finished generation is stored and announced before the caller sees
/// the end of the stream, so its id can take feedback at once.
/// </summary>
public sealed class TextGeneration(
    ModelCatalog catalog, ModelCache cache, InferenceStore store, IBus bus, InferenceOptions options, KeyConcurrency concurrency,
    TimeProvider clock, ILogger<TextGeneration> logger)
{
    internal TimeProvider Clock => clock;

    internal ILogger Logger => logger;

    public async Task<RunningGeneration> StartAsync(GenerationRequest request, int defaultMaxTokens, CancellationToken cancellationToken)
    {
        var sampling = Validate(request, defaultMaxTokens);
        var version = await catalog.ResolveAsync(request.Model, cancellationToken);
        var slot = concurrency.Enter(request.ApiKeyId ?? "anonymous", options.MaxConcurrentPerKey)
            ?? throw new TooManyGenerationsException($"This API key already runs {options.MaxConcurrentPerKey} generations, the most it may run at once; retry when one ends.");
        ModelCache.Lease? lease = null;
        try
        {
            lease = await cache.AcquireAsync(version, cancellationToken);
            var model = lease.Model;
            int[] prompt;
            var dropped = 0;
            IReadOnlyList<string> stops = sampling.Stop;
            IReadOnlyList<int> stopTokens;
            if (request.Kind == GenerationRequest.ChatKind)
            {
                var budget = model.ContextLength - Math.Min(sampling.MaxTokens, model.ContextLength / 2);
                prompt = Encode("messages", () => model.Chat.Encode(request.Messages, budget, out dropped));
                stops = [.. stops, .. model.Chat.StopSequences];
                stopTokens = model.Chat.StopTokens;
            }
            else
            {
                prompt = Encode("prompt", () => model.Tokenizer.Encode(request.Prompt));
                if (prompt.Length == 0)
                    throw new InvalidGenerationException("prompt", "must not be empty");
                if (prompt.Length > model.ContextLength)
                    throw new InvalidGenerationException("prompt", $"is {prompt.Length} tokens; {version.Id} reads at most {model.ContextLength}");
                stopTokens = model.Tokenizer is BpeTokenizer bpe && bpe.TokenToId("<|endoftext|>") is { } end ? [end] : [];
            }
            if (request.IgnoreEos)
                stopTokens = [];
            var running = new RunningGeneration(this, request, sampling, lease, slot, prompt, dropped, stops, stopTokens);
            lease = null;
            slot = null;
            return running;
        }
        finally
        {
            lease?.Dispose();
            slot?.Dispose();
        }
    }

    private static int[] Encode(string field, Func<int[]> encode)
    {
        try
        {
            return encode();
        }
        catch (ArgumentException e)
        {
            throw new InvalidGenerationException(field, e.Message);
        }
    }

    private SamplingSettings Validate(GenerationRequest request, int defaultMaxTokens)
    {
        if (request.Kind == GenerationRequest.ChatKind)
        {
            if (request.Messages.Count == 0)
                throw new InvalidGenerationException("messages", "must hold at least one message");
            for (var i = 0; i < request.Messages.Count; i++)
            {
                var turn = request.Messages[i];
                if (!ChatTemplate.Roles.Contains(turn.Role))
                    throw new InvalidGenerationException($"messages[{i}].role", "must be system, user or assistant");
                if (turn.Content is null)
                    throw new InvalidGenerationException($"messages[{i}].content", "is required");
            }
            if (request.Messages.Sum(m => m.Content.Length) > options.MaxPromptCharacters)
                throw new InvalidGenerationException("messages", $"hold more than {options.MaxPromptCharacters:N0} characters");
        }
        else if (request.Prompt.Length > options.MaxPromptCharacters)
            throw new InvalidGenerationException("prompt", $"is longer than {options.MaxPromptCharacters:N0} characters");

        var maxTokens = request.MaxTokens ?? Math.Min(defaultMaxTokens, options.MaxTokens);
        if (maxTokens < 1 || maxTokens > options.MaxTokens)
            throw new InvalidGenerationException("max_tokens", $"must be between 1 and {options.MaxTokens}");
        var temperature = request.Temperature ?? 1.0;
        if (!(temperature is >= 0 and <= 2))
            throw new InvalidGenerationException("temperature", "must be between 0 and 2");
        var topP = request.TopP ?? 1.0;
        if (!(topP is > 0 and <= 1))
            throw new InvalidGenerationException("top_p", "must be greater than 0 and at most 1");
        var topK = request.TopK ?? 0;
        if (topK < 0)
            throw new InvalidGenerationException("top_k", "must not be negative (0: no limit)");
        if (request.Stop.Count > options.MaxStopSequences)
            throw new InvalidGenerationException("stop", $"may hold at most {options.MaxStopSequences} sequences");
        if (request.Stop.Any(string.IsNullOrEmpty))
            throw new InvalidGenerationException("stop", "sequences must not be empty");
        var seed = request.Seed ?? Random.Shared.NextInt64(1, int.MaxValue);
        return new SamplingSettings(temperature, topK, topP, seed, maxTokens, [.. request.Stop]);
    }

    /// <summary>A generation under way: read its text with <see cref="ReadAsync"/>, then its <see cref="Record"/>.</summary>
    public sealed class RunningGeneration : IDisposable
    {
        private readonly TextGeneration _owner;
        private readonly GenerationRequest _request;
        private readonly ModelCache.Lease _lease;
        private readonly IDisposable _slot;
        private readonly int[] _prompt;
        private readonly IReadOnlyList<string> _stops;
        private readonly IReadOnlyList<int> _stopTokens;
        private readonly DateTime _createdAt;

        internal RunningGeneration(TextGeneration owner, GenerationRequest request, SamplingSettings sampling, ModelCache.Lease lease, IDisposable slot,
            int[] prompt, int droppedTurns, IReadOnlyList<string> stops, IReadOnlyList<int> stopTokens)
        {
            _owner = owner;
            _request = request;
            Sampling = sampling;
            _lease = lease;
            _slot = slot;
            _prompt = prompt;
            DroppedTurns = droppedTurns;
            _stops = stops;
            _stopTokens = stopTokens;
            _createdAt = owner.Clock.GetUtcNow().UtcDateTime;
            Id = "gen_" + Guid.NewGuid().ToString("N");
        }

        public string Id { get; }
        public ServedVersion Version => _lease.Model.Version;
        public SamplingSettings Sampling { get; }
        public int PromptTokens => _prompt.Length;
        public int DroppedTurns { get; }
        public long CreatedUnixSeconds => new DateTimeOffset(_createdAt).ToUnixTimeSeconds();

        /// <summary>Set when the stream has ended: the generation as stored.</summary>
        public GenerationRecord? Record { get; private set; }

        /// <summary>
        /// The text as it becomes final. Cancelling stops the decoding between tokens; what was generated is still
        /// stored, with finish reason "cancelled".
        /// </summary>
        public async IAsyncEnumerable<string> ReadAsync([EnumeratorCancellation] CancellationToken cancellationToken)
        {
            var pieces = Channel.CreateUnbounded<string>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
            using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            var worker = Task.Factory.StartNew(() => Decode(pieces.Writer, stop.Token), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
            try
            {
                await foreach (var piece in pieces.Reader.ReadAllAsync(CancellationToken.None))
                    yield return piece;
            }
            finally
            {
                stop.Cancel(); // the reader left early (client gone): stop decoding
                var (text, tokens, reason, seconds) = await worker;
                Record = await _owner.SaveAsync(this, _request, text, tokens, reason, seconds);
            }
        }

        private (string Text, int Tokens, string Reason, double Seconds) Decode(ChannelWriter<string> pieces, CancellationToken cancellationToken)
        {
            var watch = Stopwatch.StartNew();
            var model = _lease.Model;
            var streamer = new TextStreamer(model.Tokenizer, _stops);
            var options = new GenerationOptions
            {
                MaxNewTokens = Sampling.MaxTokens,
                Temperature = Sampling.Temperature,
                TopK = Sampling.TopK,
                TopP = Sampling.TopP,
                Seed = Sampling.Seed,
                StopTokens = [.. _stopTokens],
            };
            var reason = "length";
            var tokens = 0;
            try
            {
                foreach (var token in TokenGenerator.Stream(model.Network, _prompt, options, cancellationToken))
                {
                    tokens++;
                    if (_stopTokens.Contains(token))
                    {
                        reason = "stop";
                        break;
                    }
                    var piece = streamer.Append(token);
                    if (piece.Length > 0)
                        pieces.TryWrite(piece);
                    if (streamer.Stopped)
                    {
                        reason = "stop";
                        break;
                    }
                }
                if (cancellationToken.IsCancellationRequested && reason == "length" && tokens < Sampling.MaxTokens)
                    reason = "cancelled";
            }
            catch (OperationCanceledException)
            {
                reason = "cancelled";
            }
            catch (Exception e)
            {
                _owner.Logger.LogError(e, "Generation {GenerationId} on {ModelVersionId} failed", Id, model.Version.Id);
                pieces.TryComplete(e);
                return (streamer.Text, tokens, "error", watch.Elapsed.TotalSeconds);
            }
            if (!streamer.Stopped)
            {
                var rest = streamer.Finish();
                if (rest.Length > 0)
                    pieces.TryWrite(rest);
            }
            pieces.TryComplete();
            return (streamer.Text, tokens, reason, watch.Elapsed.TotalSeconds);
        }

        public void Dispose()
        {
            _lease.Dispose();
            _slot.Dispose();
        }
    }

    private async Task<GenerationRecord> SaveAsync(RunningGeneration generation, GenerationRequest request, string text, int tokens, string reason, double seconds)
    {
        var record = new GenerationRecord
        {
            Id = generation.Id,
            Model = generation.Version.Model,
            ModelVersionId = generation.Version.Id,
            Kind = request.Kind,
            Prompt = request.Kind == GenerationRequest.ChatKind ? request.Messages.LastOrDefault(m => m.Role == "user")?.Content ?? request.Messages[^1].Content : request.Prompt,
            Messages = [.. request.Messages],
            Output = text,
            Sampling = generation.Sampling,
            PromptTokens = generation.PromptTokens,
            CompletionTokens = tokens,
            DroppedTurns = generation.DroppedTurns,
            FinishReason = reason,
            ApiKeyId = request.ApiKeyId,
            CreatedAt = clock.GetUtcNow().UtcDateTime,
            Seconds = seconds,
        };
        await store.Generations.UpsertAsync(record, CancellationToken.None);
        await bus.Publish(new GenerationCompleted(record.Id, record.Model, record.ModelVersionId, record.Kind, record.Prompt, record.Messages,
            record.Output, record.Sampling, record.PromptTokens, record.CompletionTokens, record.FinishReason, record.ApiKeyId, record.CreatedAt), CancellationToken.None);
        logger.LogInformation("Generation {GenerationId} on {ModelVersionId}: {Tokens} tokens in {Seconds:F2} s ({Reason})", record.Id, record.ModelVersionId, tokens, seconds, reason);
        return record;
    }
}
