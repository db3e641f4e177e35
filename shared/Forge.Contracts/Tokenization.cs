namespace Forge.Contracts;

/// <summary>A tokenizer was trained (or imported); its files are under tokenizers/{id}/.</summary>
public sealed record TokenizerTrained(string TokenizerId, string Kind, int VocabularySize, string? DatasetVersion, double? CharactersPerToken);

/// <summary>A dataset version was encoded into token shards for the trainer, train and validation kept apart.</summary>
public sealed record DatasetTokenized(
    string DatasetVersion,
    string TokenizerId,
    IReadOnlyList<string> TrainShards,
    IReadOnlyList<string> ValidationShards,
    long TrainTokens,
    long ValidationTokens,
    double CharactersPerToken);
