namespace Forge.Tokenization.Tests;

/// <summary>One tokenizer trained on 300,000 characters of <see cref="VariedText"/>, shared by the tests that only encode.</summary>
public static class TrainedTokenizer
{
    private static readonly Lazy<BpeTokenizer> Shared = new(() =>
        BpeTrainer.Train(VariedText.Generate(seed: 1, length: 300_000).Split('\n'), new BpeTrainingOptions { VocabularySize = 3000 }));

    public static BpeTokenizer Instance => Shared.Value;
}
