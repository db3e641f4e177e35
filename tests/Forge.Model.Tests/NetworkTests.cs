using Forge.Model;
using TorchSharp;
using static TorchSharp.torch;

namespace Forge.Model.Tests;

public sealed class NetworkTests
{
    public static TheoryData<ModelArchitecture, PositionEncoding> Architectures => new()
    {
        { ModelArchitecture.Gpt, PositionEncoding.Learned },
        { ModelArchitecture.Gpt, PositionEncoding.Rotary },
        { ModelArchitecture.Lstm, PositionEncoding.Learned },
    };

    private static LanguageModel Create(ModelArchitecture architecture, PositionEncoding positions = PositionEncoding.Learned, bool tie = true)
    {
        manual_seed(3);
        var config = (architecture == ModelArchitecture.Gpt ? Tiny.Gpt(12) : Tiny.Lstm(12)) with { Positions = positions, TieEmbeddings = tie };
        return LanguageModel.Create(config);
    }

    [Theory]
    [MemberData(nameof(Architectures))]
    public void LogitsHaveOneRowPerPositionAndOneColumnPerToken(ModelArchitecture architecture, PositionEncoding positions)
    {
        using var model = Create(architecture, positions);
        using var scope = NewDisposeScope();

        var logits = model.call(randint(0, 12, [3, 10]));

        Assert.Equal(new long[] { 3, 10, 12 }, logits.shape);
    }

    [Theory]
    [MemberData(nameof(Architectures))]
    public void APredictionNeverSeesLaterTokens(ModelArchitecture architecture, PositionEncoding positions)
    {
        using var model = Create(architecture, positions);
        model.eval();
        using var scope = NewDisposeScope();
        var tokens = randint(0, 12, [1, 16]);
        var changed = tokens.clone();
        changed[0, 10] = (tokens[0, 10] + 1) % 12;

        var before = model.call(tokens);
        var after = model.call(changed);

        Assert.True(before.narrow(1, 0, 10).eq(after.narrow(1, 0, 10)).all().item<bool>(), "positions before 10 must not depend on token 10");
        Assert.False(before.narrow(1, 10, 1).eq(after.narrow(1, 10, 1)).all().item<bool>());
    }

    [Fact]
    public void FusedAttentionIsTheTextbookFormula()
    {
        using var scope = NewDisposeScope();
        manual_seed(8);
        var (query, key, value) = (randn(2, 3, 5, 4), randn(2, 3, 5, 4), randn(2, 3, 5, 4)); // (B, nh, T, hs)

        var fused = nn.functional.scaled_dot_product_attention(query, key, value, is_casual: true);
        var scores = query.matmul(key.transpose(-2, -1)) / Math.Sqrt(4); // (B, nh, T, T)
        var future = ones(5, 5, dtype: ScalarType.Bool).triu(1);
        var textbook = scores.masked_fill(future, double.NegativeInfinity).softmax(-1).matmul(value);

        Assert.True(fused.allclose(textbook, rtol: 1e-5, atol: 1e-6));
    }

    [Theory]
    [InlineData(ModelArchitecture.Gpt)]
    [InlineData(ModelArchitecture.Lstm)]
    public void TiedEmbeddingsShareOneStorage(ModelArchitecture architecture)
    {
        using var tied = Create(architecture, tie: true);
        using var untied = Create(architecture, tie: false);

        Assert.Equal(tied.TokenEmbeddingWeight.storage<float>().data_ptr(), tied.OutputWeight.storage<float>().data_ptr());
        Assert.NotEqual(untied.TokenEmbeddingWeight.storage<float>().data_ptr(), untied.OutputWeight.storage<float>().data_ptr());
        Assert.Equal(untied.ParameterCount - 12 * untied.Config.Width, tied.ParameterCount);
        Assert.Equal(tied.parameters().Count(), tied.parameters().Select(p => p.Handle).Distinct().Count());
    }

    [Fact]
    public void ResidualProjectionsStartSmallerThanOtherMatricesAsInGpt2()
    {
        manual_seed(5);
        using var model = new Gpt(new GptConfig { VocabularySize = 64, ContextLength = 32, Layers = 4, Heads = 4, Width = 128 });
        var weights = model.named_parameters().ToDictionary(p => p.name, p => p.parameter);

        var projection = weights["blocks.0.mlp.projection.weight"].std().item<float>();
        var expand = weights["blocks.0.mlp.expand.weight"].std().item<float>();

        Assert.Equal(0.02 / Math.Sqrt(8), projection, 0.0015);
        Assert.Equal(0.02, expand, 0.0015);
        Assert.Equal(0.02, weights["tokenEmbedding.weight"].std().item<float>(), 0.0015);
        Assert.Equal(0f, weights["blocks.0.attention.queryKeyValue.bias"].abs().max().item<float>());
    }

    [Fact]
    public void WithoutBiasThereAreNoBiasParameters()
    {
        manual_seed(5);
        using var model = new Gpt(Tiny.Gpt(12) with { Bias = false });

        Assert.DoesNotContain(model.named_parameters(), p => p.name.EndsWith("bias", StringComparison.Ordinal));
    }

    [Fact]
    public void ALongerInputThanTheContextIsRefused()
    {
        using var model = Create(ModelArchitecture.Gpt);
        using var scope = NewDisposeScope();

        var error = Assert.Throws<ArgumentException>(() => model.call(zeros([1, 17], ScalarType.Int64)));

        Assert.Contains("at most 16 tokens", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void WeightDecayGoesToMatricesAndEmbeddingsOnly()
    {
        using var model = Create(ModelArchitecture.Gpt, tie: false);

        var groups = WeightDecayGroups.Of(model);

        Assert.All(groups.Decayed, p => Assert.True(p.Parameter.dim() >= 2, p.Name));
        Assert.All(groups.NotDecayed, p => Assert.True(p.Parameter.dim() == 1, p.Name));
        Assert.Contains(groups.Decayed, p => p.Name == "tokenEmbedding.weight");
        Assert.Contains(groups.Decayed, p => p.Name == "head.weight");
        Assert.Contains(groups.NotDecayed, p => p.Name == "blocks.1.attentionNorm.weight");
        Assert.Contains(groups.NotDecayed, p => p.Name == "blocks.1.mlp.expand.bias");
        Assert.Equal(model.named_parameters().Select(p => p.name).Order(), groups.All.Select(p => p.Name).Order());
    }

    [Fact]
    public void TheOptimizerDecaysOneGroupAndNotTheOther()
    {
        using var model = Create(ModelArchitecture.Lstm);
        var groups = WeightDecayGroups.Of(model);

        using var optimizer = groups.CreateAdamW(new TrainingConfig { WeightDecay = 0.1 });

        var options = optimizer.ParamGroups.Cast<TorchSharp.Modules.AdamW.ParamGroup>().Select(g => g.Options.weight_decay).ToArray();
        Assert.Equal(new double?[] { 0.1, 0 }, options);
        Assert.Contains(groups.Decayed, p => p.Name == "recurrent.weight_ih_l0");
        Assert.Contains(groups.NotDecayed, p => p.Name == "recurrent.bias_hh_l1");
    }
}
