using System.Diagnostics.CodeAnalysis;
using System.Text.RegularExpressions;
using Forge.Storage.Artifacts;
using Forge.Tokenization;

namespace Forge.Tokenizer.Domain;

public static partial class TokenizerIds
{
    public const string Rule = "A tokenizer id is 1 to 64 lowercase letters, digits, '.', '_' or '-'.";

    public static bool IsValid([NotNullWhen(true)] string? id) => !string.IsNullOrEmpty(id) && Pattern().IsMatch(id);

    [GeneratedRegex("^[a-z0-9][a-z0-9._-]{0,63}$")]
    private static partial Regex Pattern();
}

public static class TokenizerSpecs
{
    public static BpeTrainingOptions Options(TokenizerSpec spec) => new()
    {
        VocabularySize = spec.VocabularySize,
        MinimumPairFrequency = spec.MinFrequency,
        SpecialTokens = spec.SpecialTokens,
        Pattern = spec.Pattern == "cl100k" ? PreTokenizerPattern.Cl100k : PreTokenizerPattern.Gpt2,
    };

    /// <summary>The first problem with a spec, naming the field, or null.</summary>
    public static (string Field, string Message)? Validate(TokenizerSpec spec)
    {
        if (spec.Kind is not ("bpe" or "char"))
            return ("kind", "must be \"bpe\" or \"char\"");
        if (spec.Pattern is not ("gpt2" or "cl100k"))
            return ("pattern", "must be \"gpt2\" or \"cl100k\"");
        if (spec.SpecialTokens.Any(string.IsNullOrEmpty) || spec.SpecialTokens.Distinct().Count() != spec.SpecialTokens.Count)
            return ("specialTokens", "must be distinct and non-empty");
        if (spec.Kind == "bpe" && spec.VocabularySize < 256 + spec.SpecialTokens.Count)
            return ("vocabularySize", $"a byte-level BPE vocabulary needs at least 256 bytes plus the {spec.SpecialTokens.Count} special tokens = {256 + spec.SpecialTokens.Count}");
        if (spec.VocabularySize > 1_000_000)
            return ("vocabularySize", "must be at most 1,000,000");
        if (spec.MinFrequency < 1)
            return ("minFrequency", "must be at least 1");
        return null;
    }

    /// <summary>Whether two specs train the same tokenizer (records compare their token lists by reference).</summary>
    public static bool Same(TokenizerSpec a, TokenizerSpec b) =>
        a.Kind == b.Kind && a.VocabularySize == b.VocabularySize && a.MinFrequency == b.MinFrequency && a.Pattern == b.Pattern
        && a.SpecialTokens.SequenceEqual(b.SpecialTokens, StringComparer.Ordinal);
}

public static class TokenizerLoader
{
    public static async Task<ITokenizer> LoadAsync(IArtifactStore artifacts, TokenizerRecord record, CancellationToken cancellationToken)
    {
        if (record.Files.TryGetValue("tokenizer.json", out var json))
        {
            await using var stream = await artifacts.OpenReadAsync(json, cancellationToken);
            return TokenizerFiles.ReadHuggingFace(stream);
        }
        await using var chars = await artifacts.OpenReadAsync(record.Files["char-tokenizer.json"], cancellationToken);
        return CharTokenizer.Read(chars);
    }

    /// <summary>The token written between documents: &lt;|endoftext|&gt; for BPE, the newline for characters.</summary>
    public static int SeparatorId(ITokenizer tokenizer) => tokenizer switch
    {
        BpeTokenizer bpe => bpe.TokenToId("<|endoftext|>") ?? 0,
        _ => tokenizer.Encode("\n") is [var newline] ? newline : 0,
    };
}
