using Forge.Storage.Metadata;

namespace Forge.Tokenizer.Domain;

public enum JobState { Queued, Running, Completed, Failed }

/// <summary>A sealed dataset version this service has heard of (from DatasetVersionSealed), with its manifest's key.</summary>
public sealed record KnownDatasetVersion : IDocument
{
    public required string Id { get; init; }
    public required string DatasetId { get; init; }
    public int Number { get; init; }
    public required string ManifestKey { get; init; }
    public long Documents { get; init; }
    public double ValidationFraction { get; init; }
}

/// <summary>How to train a tokenizer.</summary>
public sealed record TokenizerSpec
{
    /// <summary>"bpe" (byte-level BPE) or "char" (one token per character, as nanoGPT's shakespeare_char).</summary>
    public string Kind { get; init; } = "bpe";
    public int VocabularySize { get; init; } = 8192;
    public long MinFrequency { get; init; } = 2;
    public List<string> SpecialTokens { get; init; } = ["<|endoftext|>", "<|system|>", "<|user|>", "<|assistant|>"];
    /// <summary>"gpt2" or "cl100k" pre-tokenisation.</summary>
    public string Pattern { get; init; } = "gpt2";
}

public sealed record TokenizerRecord : IDocument
{
    public required string Id { get; init; }
    public required TokenizerSpec Spec { get; init; }
    public string? DatasetVersion { get; init; }
    public JobState State { get; init; }
    public DateTime CreatedAt { get; init; }
    public DateTime? FinishedAt { get; init; }
    public int VocabularySize { get; init; }
    public int Merges { get; init; }
    /// <summary>Characters per token over the training documents (compression).</summary>
    public double? CharactersPerToken { get; init; }
    public Dictionary<string, string> Files { get; init; } = [];
    public string? Failure { get; init; }
    /// <summary>The build that asked for it, told when the job fails.</summary>
    public string? BuildId { get; init; }
}

public sealed record TokenizationRecord : IDocument
{
    /// <summary>"{datasetVersion}/{tokenizerId}".</summary>
    public required string Id { get; init; }
    public required string DatasetVersion { get; init; }
    public required string TokenizerId { get; init; }
    public JobState State { get; init; }
    public DateTime CreatedAt { get; init; }
    public DateTime? FinishedAt { get; init; }
    public long DocumentsDone { get; init; }
    public long DocumentsTotal { get; init; }
    public List<string> TrainShards { get; init; } = [];
    public List<string> ValidationShards { get; init; } = [];
    public long TrainTokens { get; init; }
    public long ValidationTokens { get; init; }
    public long TrainDocuments { get; init; }
    public long ValidationDocuments { get; init; }
    public double? CharactersPerToken { get; init; }
    public string? Failure { get; init; }
    /// <summary>The build that asked for it, told when the job fails.</summary>
    public string? BuildId { get; init; }
}

public sealed class TokenizerStore(IMetadataStore store)
{
    public IDocumentCollection<KnownDatasetVersion> DatasetVersions { get; } = store.Collection<KnownDatasetVersion>("tokenizer_dataset_versions");
    public IDocumentCollection<TokenizerRecord> Tokenizers { get; } = store.Collection<TokenizerRecord>("tokenizer_tokenizers");
    public IDocumentCollection<TokenizationRecord> Tokenizations { get; } = store.Collection<TokenizationRecord>("tokenizer_tokenizations");
}
