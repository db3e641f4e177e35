namespace Forge.Tokenization.Tests;

public sealed class BpeTrainerTests
{
    /// <summary>What Hugging Face's npm binding trains with: BpeTrainer::default().</summary>
    private static readonly BpeTrainingOptions LikeHuggingFaceDefaults = new()
    {
        VocabularySize = 30_000,
        MinimumPairFrequency = 0,
        SpecialTokens = [],
    };

    [Theory]
    [MemberData(nameof(HuggingFaceFixture.Names), MemberType = typeof(HuggingFaceFixture))]
    public void TrainingOnTheSmallCorpusLearnsExactlyHuggingFacesMerges(string fixture)
    {
        var huggingFace = HuggingFaceFixture.Named(fixture);

        var ours = BpeTrainer.TrainFromFiles([huggingFace.CorpusPath], LikeHuggingFaceDefaults with { Pattern = huggingFace.Pattern });

        // Every merge HF learned (it stops when no pair is left), in the same order.
        Assert.Equal(huggingFace.Merges(), ours.Merges.ToList());
    }

    [Fact]
    public void TheFirstTwentyMergesOfTheSmallCorpusAreHuggingFaces()
    {
        // Pinned from TestData/hf-tiny/tokenizer.json, written by HF tokenizers 0.23.2 (npm) on the same corpus.
        (string, string)[] huggingFace =
        [
            ("Ġ", "t"), ("h", "e"), ("Ġt", "he"), ("a", "a"), ("i", "n"), ("à", "¤"), ("Ġ", "a"), ("ð", "Ł"), ("1", "1"), ("e", "r"),
            ("Ġ", "s"), ("Ġ", "Ġ"), ("e", "s"), ("Ġ", "i"), ("ã", "ģ"), ("Ġ", "b"), ("Ġ", "Ã"), ("Ġ", "â"), ("0", "0"), ("a", "b"),
        ];

        var ours = BpeTrainer.TrainFromFiles([HuggingFaceFixture.Tiny.CorpusPath], LikeHuggingFaceDefaults with { VocabularySize = 256 + 20 });

        Assert.Equal(huggingFace, ours.Merges.ToList());
    }

    [Fact]
    public void IdsAreSpecialTokensThenTheByteAlphabetThenMerges()
    {
        var options = new BpeTrainingOptions { VocabularySize = 300, SpecialTokens = ["<|endoftext|>", "<|user|>"] };

        var tokenizer = BpeTrainer.Train([VariedText.Generate(3, 20_000)], options);

        Assert.Equal(300, tokenizer.VocabularySize);
        Assert.Equal(["<|endoftext|>", "<|user|>"], tokenizer.Tokens.Take(2));
        Assert.Equal("!", tokenizer.Tokens[2]);
        Assert.Equal("Ń", tokenizer.Tokens[2 + 255]);
        Assert.Equal(42, tokenizer.Merges.Count());
    }

    [Fact]
    public void SpecialTokensInTheTrainingTextAreNeverSplitNorMerged()
    {
        var documents = Enumerable.Range(0, 200).Select(i => $"<|user|>question {i}<|assistant|>answer {i}<|endoftext|>");
        var options = new BpeTrainingOptions { VocabularySize = 400, MinimumPairFrequency = 2 };

        var tokenizer = BpeTrainer.Train(documents, options);

        Assert.DoesNotContain(tokenizer.Tokens.Skip(4), token => token.Contains("assistant", StringComparison.Ordinal) || token.Contains("<|", StringComparison.Ordinal));
        var ids = tokenizer.Encode("<|user|>question 7<|assistant|>");
        Assert.Equal(tokenizer.TokenToId("<|user|>"), ids[0]);
        Assert.Equal(tokenizer.TokenToId("<|assistant|>"), ids[^1]);
    }

    [Fact]
    public void TrainingIsTheSameWhateverTheParallelismAndDocumentOrder()
    {
        var documents = VariedText.Generate(4, 100_000).Split('\n');
        var options = new BpeTrainingOptions { VocabularySize = 1000 };

        var serial = BpeTrainer.Train(documents, options with { MaxDegreeOfParallelism = 1 });
        var parallel = BpeTrainer.Train(documents.Reverse(), options with { MaxDegreeOfParallelism = 4 });

        Assert.Equal(serial.Merges, parallel.Merges);
        Assert.Equal(serial.Tokens, parallel.Tokens);
    }

    [Theory]
    [InlineData(PreTokenizerPattern.Gpt2, false)]
    [InlineData(PreTokenizerPattern.Cl100k, false)]
    [InlineData(PreTokenizerPattern.Gpt2, true)]
    [InlineData(PreTokenizerPattern.Cl100k, true)]
    public void ALongDocumentIsCountedInPiecesWithTheCountsOfTheWhole(PreTokenizerPattern pattern, bool mostLineBreaksFollowSpaces)
    {
        // A line break after spaces is not a place to cut ("  \n" at the end of a piece is one span, in the whole two).
        var document = mostLineBreaksFollowSpaces
            ? string.Concat(Enumerable.Range(0, 200_000).Select(i => i % 1000 == 999 ? "gamma;\nDelta " : "alpha  \nBeta "))
            : VariedText.Generate(seed: 8, length: 2_600_000);
        var trainer = new BpeTrainer(new BpeTrainingOptions { Pattern = pattern, SpecialTokens = [] });

        trainer.AddDocuments([document]);

        var whole = PreTokenizer.For(pattern).Split(document).GroupBy(s => document.Substring(s.Start, s.Length)).ToDictionary(g => g.Key, g => (long)g.Count());
        Assert.Equal(whole.OrderBy(p => p.Key, StringComparer.Ordinal), trainer.WordCounts.OrderBy(p => p.Key, StringComparer.Ordinal));
    }

    [Fact]
    public async Task TrainingFromAnAsyncStreamEqualsTrainingFromAList()
    {
        var documents = VariedText.Generate(5, 50_000).Split('\n');
        var options = new BpeTrainingOptions { VocabularySize = 800 };
        var trainer = new BpeTrainer(options);

        await trainer.AddDocumentsAsync(documents.ToAsyncEnumerable());

        Assert.Equal(BpeTrainer.Train(documents, options).Merges, trainer.Train().Merges);
    }

    [Fact]
    public void TheMinimumPairFrequencyEndsTrainingEarly()
    {
        var text = VariedText.Generate(6, 20_000);

        var strict = BpeTrainer.Train([text], new BpeTrainingOptions { VocabularySize = 5000, MinimumPairFrequency = 50 });
        var lenient = BpeTrainer.Train([text], new BpeTrainingOptions { VocabularySize = 5000, MinimumPairFrequency = 2 });

        Assert.InRange(strict.VocabularySize, 260 + 1, lenient.VocabularySize - 1);
        Assert.InRange(lenient.VocabularySize, 261, 4999);
    }

    [Fact]
    public void ACl100kTokenizerNeverMergesMoreThanThreeDigits()
    {
        var numbers = string.Join(' ', Enumerable.Range(0, 3000).Select(i => (i * 7919L * 104729L).ToString()));

        var tokenizer = BpeTrainer.Train([numbers], new BpeTrainingOptions { VocabularySize = 1000, Pattern = PreTokenizerPattern.Cl100k });

        Assert.DoesNotContain(tokenizer.Tokens, token => token.Count(char.IsAsciiDigit) > 3);
        Assert.Contains(tokenizer.Tokens, token => token.Count(char.IsAsciiDigit) == 3);
    }

    [Theory]
    [InlineData(259, 4)]
    [InlineData(255, 0)]
    public void AVocabularyTooSmallForTheBytesAndSpecialTokensIsRefused(int vocabularySize, int specialTokens)
    {
        var options = new BpeTrainingOptions { VocabularySize = vocabularySize, SpecialTokens = [.. Enumerable.Range(0, specialTokens).Select(i => $"<|s{i}|>")] };

        var error = Assert.Throws<ArgumentOutOfRangeException>(() => new BpeTrainer(options));

        Assert.Contains($"at least 256 (bytes) + {specialTokens} (special tokens) = {256 + specialTokens}", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void DuplicateOrEmptySpecialTokensAreRefused()
    {
        Assert.Throws<ArgumentException>(() => new BpeTrainer(new BpeTrainingOptions { SpecialTokens = ["<|a|>", "<|a|>"] }));
        Assert.Throws<ArgumentException>(() => new BpeTrainer(new BpeTrainingOptions { SpecialTokens = [""] }));
    }
}
