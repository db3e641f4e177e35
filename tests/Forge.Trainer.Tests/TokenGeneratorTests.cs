using Forge.Model;

namespace Forge.Trainer.Tests;

public sealed class TokenGeneratorTests
{
    private static LanguageModel TinyModel()
    {
        TorchSharp.torch.manual_seed(3);
        return LanguageModel.Create(new GptConfig { VocabularySize = 30, ContextLength = 8, Layers = 1, Heads = 2, Width = 16 });
    }

    [Fact]
    public void GreedyGenerationIsRepeatableAndRunsPastTheContext()
    {
        using var model = TinyModel();

        var first = TokenGenerator.Generate(model, [1, 2, 3], new GenerationOptions { MaxNewTokens = 12 });
        var second = TokenGenerator.Generate(model, [1, 2, 3], new GenerationOptions { MaxNewTokens = 12 });

        Assert.Equal(12, first.Length);
        Assert.Equal(first, second);
        Assert.All(first, token => Assert.InRange(token, 0, 29));
    }

    [Fact]
    public void GenerationStopsAfterAStopToken()
    {
        using var model = TinyModel();
        var free = TokenGenerator.Generate(model, [4, 5], new GenerationOptions { MaxNewTokens = 6 });

        var stopped = TokenGenerator.Generate(model, [4, 5], new GenerationOptions { MaxNewTokens = 6, StopTokens = [free[1]] });

        Assert.Equal(free[..(Array.IndexOf(free, free[1]) + 1)], stopped);
    }

    [Fact]
    public void ChoosingIsGreedyAtTemperatureZeroAndSeededOtherwise()
    {
        float[] logits = [0.1f, 2.5f, 0.3f, 2.4f];

        Assert.Equal(1, TokenGenerator.Choose(logits, new GenerationOptions(), new Random(1)));
        Assert.Equal(1, TokenGenerator.Choose(logits, new GenerationOptions { Temperature = 1, TopK = 1 }, new Random(1)));
        var draws = Enumerable.Range(0, 200).Select(i => TokenGenerator.Choose(logits, new GenerationOptions { Temperature = 1, TopP = 0.6 }, new Random(i))).ToHashSet();
        Assert.Equal([1, 3], draws.Order());
        var seeded = new Random(42);
        var again = new Random(42);
        Assert.Equal(
            Enumerable.Range(0, 20).Select(_ => TokenGenerator.Choose(logits, new GenerationOptions { Temperature = 2 }, seeded)),
            Enumerable.Range(0, 20).Select(_ => TokenGenerator.Choose(logits, new GenerationOptions { Temperature = 2 }, again)));
    }
}
