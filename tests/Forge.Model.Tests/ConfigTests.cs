using System.Text.Json;
using Forge.Model;

namespace Forge.Model.Tests;

public sealed class ConfigTests
{
    [Fact]
    public void TheDefaultsDescribeGpt2Small()
    {
        var config = new GptConfig();

        Assert.Empty(config.Problems());
        Assert.Equal((12, 12, 768, 1024, 64), (config.Layers, config.Heads, config.Width, config.ContextLength, config.HeadSize));
        Assert.Empty(new TrainingConfig().Problems());
    }

    [Fact]
    public void HeadsThatDoNotDivideTheWidthAreRefusedWithBothNumbers()
    {
        var error = Assert.Throws<ArgumentException>(() => new GptConfig { Heads = 5, Width = 128 }.Validate());

        Assert.Contains("Heads (5) must divide Width (128)", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(nameof(GptConfig.VocabularySize))]
    [InlineData(nameof(GptConfig.ContextLength))]
    [InlineData(nameof(GptConfig.Layers))]
    [InlineData(nameof(GptConfig.Heads))]
    [InlineData(nameof(GptConfig.Width))]
    public void NonPositiveSizesAreRefusedByName(string field)
    {
        var config = field switch
        {
            nameof(GptConfig.VocabularySize) => new GptConfig { VocabularySize = 0 },
            nameof(GptConfig.ContextLength) => new GptConfig { ContextLength = -1 },
            nameof(GptConfig.Layers) => new GptConfig { Layers = 0 },
            nameof(GptConfig.Heads) => new GptConfig { Heads = 0 },
            _ => new GptConfig { Width = 0 },
        };

        var error = Assert.Throws<ArgumentException>(config.Validate);

        Assert.Contains($"{field} must be positive", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void EveryProblemIsReportedAtOnce()
    {
        var problems = new GptConfig { Layers = 0, Dropout = 1.5, Heads = 7 }.Problems();

        Assert.Equal(3, problems.Count);
    }

    [Fact]
    public void RotaryPositionsNeedAnEvenHeadSize()
    {
        var config = new GptConfig { Width = 30, Heads = 2, Positions = PositionEncoding.Rotary };

        Assert.Contains(config.Problems(), p => p.Contains("must be even (got 15)", StringComparison.Ordinal));
    }

    [Fact]
    public void AnLstmIgnoresTheAttentionSettings()
    {
        var config = new GptConfig { Architecture = ModelArchitecture.Lstm, Heads = 5, Width = 128, Positions = PositionEncoding.Rotary };

        Assert.Empty(config.Problems());
    }

    [Fact]
    public void TrainingSettingsAreValidatedTogether()
    {
        var training = new TrainingConfig { WarmupSteps = 500, DecaySteps = 400, MinLearningRate = 1, Precision = "fp8", BatchSize = 0 };

        var error = Assert.Throws<ArgumentException>(training.Validate);

        Assert.Contains("DecaySteps (400) must come after WarmupSteps (500)", error.Message, StringComparison.Ordinal);
        Assert.Contains("MinLearningRate (1) must not exceed LearningRate", error.Message, StringComparison.Ordinal);
        Assert.Contains("Precision 'fp8' is not known", error.Message, StringComparison.Ordinal);
        Assert.Contains("BatchSize must be positive", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AContextTooLongForTheDataIsRefusedByTheLoop()
    {
        using var corpus = new TinyCorpus();
        using var train = corpus.OpenTrain();
        using var shortValidation = TokenDataset.Open(corpus.WriteShard("short.bin", Enumerable.Range(0, 10).Select(i => i % 12)));

        var error = Assert.Throws<ArgumentException>(() => new TrainingLoop(Tiny.Gpt(corpus.VocabularySize), Tiny.Training(10), train, shortValidation));

        Assert.Contains("context length 16 is too long for the validation data", error.Message, StringComparison.Ordinal);
        Assert.Contains("longest validation shard has 10", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ShardsWithALargerVocabularyThanTheModelAreRefused()
    {
        using var corpus = new TinyCorpus();
        using var train = corpus.OpenTrain();

        var error = Assert.Throws<ArgumentException>(() => new TrainingLoop(Tiny.Gpt(8), Tiny.Training(10), train));

        Assert.Contains("vocabulary of 12 tokens, more than the model's 8", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ConfigsRoundTripThroughJsonWithReadableEnumNames()
    {
        var config = new GptConfig { Architecture = ModelArchitecture.Lstm, Positions = PositionEncoding.Rotary, Dropout = 0.1 };
        var options = new JsonSerializerOptions(JsonSerializerDefaults.Web);

        var json = JsonSerializer.Serialize(config, options);

        Assert.Contains("\"architecture\":\"lstm\"", json, StringComparison.Ordinal);
        Assert.Contains("\"positions\":\"rotary\"", json, StringComparison.Ordinal);
        Assert.Equal(config, JsonSerializer.Deserialize<GptConfig>(json, options));
    }
}
