namespace Forge.Tokenization;

/// <summary>What the trainer, the evaluator and inference need from a tokenizer, whichever kind it is.</summary>
public interface ITokenizer
{
    /// <summary>Ids run from 0 to <see cref="VocabularySize"/> - 1.</summary>
    int VocabularySize { get; }

    /// <summary>Appends the ids of <paramref name="text"/> to <paramref name="ids"/>.</summary>
    void Encode(ReadOnlySpan<char> text, List<int> ids);

    string Decode(ReadOnlySpan<int> ids);
}

public static class TokenizerExtensions
{
    public static int[] Encode(this ITokenizer tokenizer, string text)
    {
        var ids = new List<int>(text.Length / 3 + 4);
        tokenizer.Encode(text, ids);
        return [.. ids];
    }
}
