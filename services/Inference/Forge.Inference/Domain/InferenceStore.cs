using Forge.Contracts;
using Forge.Storage.Metadata;

namespace Forge.Inference.Domain;

/// <summary>A model version the registry announced: enough to load it.</summary>
public sealed record ServedVersion : IDocument
{
    public required string Id { get; init; }
    public required string Model { get; init; }
    public required string CheckpointKey { get; init; }
    public required string TokenizerId { get; init; }
    public DateTime RegisteredAt { get; init; }
}

/// <summary>A model's promoted version as the registry last announced it; <see cref="ChangedAt"/> orders announcements.</summary>
public sealed record ServedModel : IDocument
{
    public required string Id { get; init; }
    public string? PromotedVersionId { get; init; }
    public DateTime ChangedAt { get; init; }
}

/// <summary>One generation as it was served: what was asked, with what, and what came out. Feedback points at its id.</summary>
public sealed record GenerationRecord : IDocument
{
    public required string Id { get; init; }
    public required string Model { get; init; }
    public required string ModelVersionId { get; init; }
    /// <summary>completion or chat.</summary>
    public required string Kind { get; init; }
    public required string Prompt { get; init; }
    public List<ChatTurn> Messages { get; init; } = [];
    public required string Output { get; init; }
    public required SamplingSettings Sampling { get; init; }
    public int PromptTokens { get; init; }
    public int CompletionTokens { get; init; }
    public int DroppedTurns { get; init; }
    /// <summary>stop, length or cancelled.</summary>
    public required string FinishReason { get; init; }
    public string? ApiKeyId { get; init; }
    public DateTime CreatedAt { get; init; }
    public double Seconds { get; init; }
}

public sealed class InferenceStore(IMetadataStore store)
{
    public IDocumentCollection<ServedVersion> Versions { get; } = store.Collection<ServedVersion>("inference_versions");
    public IDocumentCollection<ServedModel> Models { get; } = store.Collection<ServedModel>("inference_models");
    public IDocumentCollection<GenerationRecord> Generations { get; } = store.Collection<GenerationRecord>("inference_generations");

    public async Task EnsureIndexesAsync(CancellationToken cancellationToken)
    {
        await Versions.EnsureIndexAsync(v => v.Model, cancellationToken: cancellationToken);
        await Generations.EnsureIndexAsync(g => g.ModelVersionId, cancellationToken: cancellationToken);
        await Generations.EnsureIndexAsync(g => g.CreatedAt, cancellationToken: cancellationToken);
    }
}
