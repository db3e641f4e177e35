using Forge.Storage.Metadata;

namespace Forge.Evaluator.Domain;

/// <summary>One task example: the prompt a model answers and the answers that count as right.</summary>
public sealed record EvalExample(string Prompt, IReadOnlyList<string> References, string? Id = null);

/// <summary>
/// A stored eval set. Its examples are an immutable artifact named by their hash: metrics recorded against the set
/// stay comparable because the set under a name never changes.
/// </summary>
public sealed record EvalSetRecord : IDocument
{
    /// <summary>The set's name.</summary>
    public required string Id { get; init; }
    public int ExampleCount { get; init; }
    public int MaxReferences { get; init; }
    public required string ArtifactKey { get; init; }
    public required string Sha256 { get; init; }
    public long Bytes { get; init; }
    public DateTime CreatedAt { get; init; }
}

/// <summary>A model's outputs scored on an eval set; the full report, with every example, is the artifact at <see cref="ReportKey"/>.</summary>
public sealed record Evaluation : IDocument
{
    public required string Id { get; init; }
    public required string EvalSet { get; init; }
    public required string EvalSetSha256 { get; init; }
    public string? ModelVersionId { get; init; }
    public Dictionary<string, double> Metrics { get; init; } = [];
    public required string ReportKey { get; init; }
    public DateTime CreatedAt { get; init; }

    /// <summary>Where an evaluation's report is kept; ids such as "{version}:{set}" keep only characters every store takes in a key.</summary>
    public static string ReportKeyOf(string id) => $"evaluations/{id.Replace(':', '-').Replace('@', '-')}/report.json";
}

/// <summary>A model version the registry announced: where its checkpoint is and which tokenizer reads and writes its text.</summary>
public sealed record KnownModelVersion : IDocument
{
    public required string Id { get; init; }
    public required string CheckpointKey { get; init; }
    public required string TokenizerId { get; init; }
}

/// <summary>
/// A registered version waiting to be measured on its held-out shards: stored before the registration is acknowledged,
/// deleted once its evaluation is announced (see <see cref="HeldOutEvaluator"/>). Its id is the model version's.
/// </summary>
public sealed record HeldOutMeasurement : IDocument
{
    public required string Id { get; init; }
    public required string CheckpointKey { get; init; }
    public required string TokenizerId { get; init; }
    public List<string> ValidationShards { get; init; } = [];
    public DateTime RequestedAt { get; init; }
    public int Attempts { get; init; }
    public string? LastError { get; init; }
}

public sealed class EvaluatorStore(IMetadataStore store)
{
    public IDocumentCollection<HeldOutMeasurement> HeldOutMeasurements { get; } = store.Collection<HeldOutMeasurement>("evaluator_held_out_pending");
    public IDocumentCollection<KnownModelVersion> ModelVersions { get; } = store.Collection<KnownModelVersion>("evaluator_model_versions");
    public IDocumentCollection<EvalSetRecord> EvalSets { get; } = store.Collection<EvalSetRecord>("evaluator_evalsets");
    public IDocumentCollection<Evaluation> Evaluations { get; } = store.Collection<Evaluation>("evaluator_evaluations");

    public async Task EnsureIndexesAsync(CancellationToken cancellationToken)
    {
        await Evaluations.EnsureIndexAsync(e => e.EvalSet, cancellationToken: cancellationToken);
        await Evaluations.EnsureIndexAsync(e => e.ModelVersionId, cancellationToken: cancellationToken);
    }
}
