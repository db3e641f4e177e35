using System.Security.Cryptography;
using System.Text;
using Forge.Contracts;
using MassTransit;
using Microsoft.Extensions.Logging;

namespace Forge.Feedback.Domain;

/// <summary>What is wrong with a request: the field as a JSON path (<c>$.rating</c>), and why.</summary>
public sealed record FieldError(string Field, string Message);

/// <summary>Checked feedback, ready to store: its kind with that kind's fields, who gave it, and any comment.</summary>
public sealed record NewFeedback(string Kind, bool? Up, int? Rating, string? Correction, string? Preferred, string User, string? Comment);

/// <summary>
/// Stores feedback on generations: the item is inserted (the commit point), then <see cref="FeedbackReceived"/> is
/// published and the model's retraining policy counts it. With an idempotency key the item's id is derived from the
/// generation and the key, so a retry, even a concurrent one, finds the first item instead of storing another.
/// </summary>
public sealed class FeedbackRecorder(
    FeedbackStore store,
    RetrainingTrigger trigger,
    IPublishEndpoint publisher,
    FeedbackOptions options,
    TimeProvider clock,
    ILogger<FeedbackRecorder> logger)
{
    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(100);

    /// <summary>A fresh item id, or a deterministic one for a client-supplied key on this generation.</summary>
    public static string ItemIdFor(string generationId, string? idempotencyKey) =>
        idempotencyKey is null
            ? Guid.CreateVersion7().ToString("N")
            : "k" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes($"{generationId}\n{idempotencyKey}")))[..31];

    /// <summary>The item a previous request with this key stored on this generation, if any.</summary>
    public async Task<FeedbackItem?> FindRetryAsync(string generationId, string? idempotencyKey, CancellationToken cancellationToken) =>
        idempotencyKey is null ? null : await store.Items.GetAsync(ItemIdFor(generationId, idempotencyKey), cancellationToken);

    /// <summary>
    /// The generation, waiting up to <see cref="FeedbackOptions.GenerationWait"/> (2 s) while it is unknown: the
    /// inference service answers its client before GenerationCompleted has crossed the bus to this service, so
    /// feedback sent right after a generation can arrive before the generation does.
    /// </summary>
    public async Task<StoredGeneration?> WaitForGenerationAsync(string generationId, CancellationToken cancellationToken)
    {
        var started = clock.GetTimestamp();
        while (true)
        {
            if (await store.Generations.GetAsync(generationId, cancellationToken) is { } generation)
                return generation;
            var left = options.GenerationWait - clock.GetElapsedTime(started);
            if (left <= TimeSpan.Zero)
                return null;
            await Task.Delay(left < PollInterval ? left : PollInterval, clock, cancellationToken);
        }
    }

    /// <summary>The other generation of a preference, or what is wrong with it: both must exist and answer the same prompt of the same model.</summary>
    public async Task<(StoredGeneration? Other, FieldError? Error)> CheckPreferenceAsync(StoredGeneration generation, string otherGenerationId, CancellationToken cancellationToken)
    {
        const string Field = "$.otherGenerationId";
        if (otherGenerationId == generation.Id)
            return (null, new(Field, "names the generation itself; a preference compares two generations"));
        if (await WaitForGenerationAsync(otherGenerationId, cancellationToken) is not { } other)
            return (null, new(Field, $"there is no generation '{otherGenerationId}'"));
        if (other.Model != generation.Model)
            return (null, new(Field, $"is a generation of model '{other.Model}', not '{generation.Model}'; compare answers of one model"));
        if (!generation.SamePromptAs(other))
            return (null, new(Field, "answers another prompt; a preference compares two answers to the same prompt"));
        return (other, null);
    }

    public async Task<(FeedbackItem Item, bool Created)> RecordAsync(
        StoredGeneration generation, NewFeedback feedback, StoredGeneration? other, string? idempotencyKey, CancellationToken cancellationToken)
    {
        var item = new FeedbackItem
        {
            Id = ItemIdFor(generation.Id, idempotencyKey),
            GenerationId = generation.Id,
            Model = generation.Model,
            ModelVersionId = generation.ModelVersionId,
            Kind = feedback.Kind,
            Up = feedback.Up,
            Rating = feedback.Rating,
            Correction = feedback.Correction,
            OtherGenerationId = other?.Id,
            OtherModelVersionId = other?.ModelVersionId,
            Preferred = feedback.Preferred,
            User = feedback.User,
            Comment = feedback.Comment,
            IdempotencyKey = idempotencyKey,
            GenerationCreatedAt = generation.CreatedAt,
            CreatedAt = clock.GetUtcNow().UtcDateTime,
        };
        if (!await store.Items.TryInsertAsync(item, cancellationToken))
        {
            // A concurrent request with the same key stored first; answer its item.
            var first = await store.Items.GetAsync(item.Id, CancellationToken.None)
                ?? throw new InvalidOperationException($"Feedback {item.Id} was reported as a duplicate but cannot be read.");
            return (first, false);
        }
        logger.LogInformation("Stored {Kind} feedback {FeedbackId} on generation {GenerationId} of {ModelVersionId} from {User}",
            item.Kind, item.Id, item.GenerationId, item.ModelVersionId, item.User);
        await publisher.Publish(new FeedbackReceived(item.Id, item.GenerationId, item.ModelVersionId, item.Kind, item.CreatedAt), CancellationToken.None);
        await trigger.CountAsync(item, CancellationToken.None);
        return (item, true);
    }
}
