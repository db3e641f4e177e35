using System.Text.Json.Nodes;
using Forge.Model;
using Forge.Testing;
using static TorchSharp.torch;

namespace Forge.ModelExport.Tests;

public sealed class ImportTests : IDisposable
{
    private readonly TemporaryFolder folder = new("gpt2-import");

    public void Dispose() => folder.Dispose();

    private string ModelFile => Path.Combine(folder.Path, HuggingFaceGpt2.ModelFile);

    private string ConfigFile => Path.Combine(folder.Path, HuggingFaceGpt2.ConfigFile);

    private GptConfig ExportTiny(bool tied = true)
    {
        var config = TinyGpt2.Config(tied);
        using var model = TinyGpt2.RandomModel(config);
        HuggingFaceGpt2.Export(model, folder.Path);
        return config;
    }

    private void EditConfig(Action<JsonNode> edit)
    {
        var config = JsonNode.Parse(File.ReadAllText(ConfigFile))!;
        edit(config);
        File.WriteAllText(ConfigFile, config.ToJsonString());
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void ExportingThenImportingGivesIdenticalWeightsAndLogits(bool tied)
    {
        var config = TinyGpt2.Config(tied);
        using var model = TinyGpt2.RandomModel(config);
        HuggingFaceGpt2.Export(model, folder.Path);

        using var imported = HuggingFaceGpt2.Import(folder.Path);

        Assert.Equal(config, imported.Config);
        var before = model.state_dict();
        var after = imported.state_dict();
        Assert.Equal(before.Keys.Order(StringComparer.Ordinal), after.Keys.Order(StringComparer.Ordinal));
        Assert.All(before, p => Assert.True(TinyGpt2.Identical(p.Value, after[p.Key]), p.Key));
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var tokens = TinyGpt2.RandomTokens(config);
        Assert.True(TinyGpt2.Identical(model.call(tokens), imported.call(tokens)));
    }

    [Fact]
    public void ATransformersCheckpointWithoutThePrefixAndWithMaskBuffersImports()
    {
        var config = ExportTiny();
        using var original = HuggingFaceGpt2.Import(folder.Path);
        // GPT2Model.save_pretrained drops "transformer."; transformers before 4.31 also saved each layer's causal mask.
        TinyGpt2.Rewrite(ModelFile, tensors => tensors
            .Select(t => (t.Key["transformer.".Length..], t.Value))
            .Concat(Enumerable.Range(0, config.Layers).Select(i => ($"h.{i}.attn.bias", ones(1, 1, 8, 8).tril())))
            .Concat(Enumerable.Range(0, config.Layers).Select(i => ($"h.{i}.attn.masked_bias", tensor(-1e4f)))));

        using var imported = HuggingFaceGpt2.Import(folder.Path);

        var before = original.state_dict();
        Assert.All(imported.state_dict(), p => Assert.True(TinyGpt2.Identical(p.Value, before[p.Key]), p.Key));
    }

    [Fact]
    public void GelusTanhApproximationIsRefusedUnlessAccepted()
    {
        ExportTiny();
        EditConfig(c => c["activation_function"] = "gelu_new");

        var error = Assert.Throws<NotSupportedException>(() => HuggingFaceGpt2.Import(folder.Path));
        Assert.Contains("'gelu_new'", error.Message, StringComparison.Ordinal);
        Assert.Contains("acceptTanhGelu", error.Message, StringComparison.Ordinal);

        using var imported = HuggingFaceGpt2.Import(folder.Path, acceptTanhGelu: true);
        Assert.Equal(2, imported.Config.Layers);
    }

    [Fact]
    public void AMissingTensorIsRefusedNamingIt()
    {
        ExportTiny();
        TinyGpt2.Rewrite(ModelFile, tensors => tensors.Where(t => t.Key != "transformer.h.1.mlp.c_fc.bias").Select(t => (t.Key, t.Value)));

        var error = Assert.Throws<InvalidDataException>(() => HuggingFaceGpt2.Import(folder.Path));

        Assert.Contains("'transformer.h.1.mlp.c_fc.bias' is missing", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AnUntiedModelWithoutItsHeadIsRefusedNamingIt()
    {
        ExportTiny(tied: false);
        TinyGpt2.Rewrite(ModelFile, tensors => tensors.Where(t => t.Key != "lm_head.weight").Select(t => (t.Key, t.Value)));

        var error = Assert.Throws<InvalidDataException>(() => HuggingFaceGpt2.Import(folder.Path));

        Assert.Contains("'lm_head.weight' is missing", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AWeightInLinearRatherThanConv1DLayoutIsRefusedNamingIt()
    {
        ExportTiny();
        TinyGpt2.Rewrite(ModelFile, tensors => tensors.Select(t => (t.Key, t.Key == "transformer.h.0.attn.c_attn.weight" ? t.Value.t() : t.Value)));

        var error = Assert.Throws<InvalidDataException>(() => HuggingFaceGpt2.Import(folder.Path));

        Assert.Contains("'transformer.h.0.attn.c_attn.weight' is [48, 16] but this config.json needs [16, 48]", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ATensorTheConfigHasNoPlaceForIsRefusedNamingIt()
    {
        ExportTiny();
        EditConfig(c => c["n_layer"] = 1);

        var error = Assert.Throws<InvalidDataException>(() => HuggingFaceGpt2.Import(folder.Path));

        Assert.Contains("'transformer.h.1.attn.c_attn.weight'", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("model_type", "\"llama\"", "model_type is 'llama'")]
    [InlineData("n_inner", "32", "n_inner is 32")]
    [InlineData("activation_function", "\"relu\"", "activation_function is 'relu'")]
    [InlineData("layer_norm_epsilon", "1e-6", "layer_norm_epsilon")]
    [InlineData("scale_attn_by_inverse_layer_idx", "true", "scale_attn_by_inverse_layer_idx")]
    [InlineData("add_cross_attention", "true", "cross-attention")]
    public void AConfigForANetworkGptDoesNotComputeIsRefusedSayingWhy(string field, string value, string reason)
    {
        ExportTiny();
        EditConfig(c => c[field] = JsonNode.Parse(value));

        var error = Assert.Throws<NotSupportedException>(() => HuggingFaceGpt2.Import(folder.Path));

        Assert.Contains(reason, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AConfigWithHeadsThatDoNotDivideTheWidthIsRefused()
    {
        ExportTiny();
        EditConfig(c => c["n_head"] = 3);

        var error = Assert.Throws<InvalidDataException>(() => HuggingFaceGpt2.Import(folder.Path));

        Assert.Contains("Heads (3) must divide Width (16)", error.Message, StringComparison.Ordinal);
    }
}
