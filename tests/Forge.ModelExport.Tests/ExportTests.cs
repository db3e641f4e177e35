using System.Text.Json;
using Forge.Model;
using Forge.Testing;
using static TorchSharp.torch;

namespace Forge.ModelExport.Tests;

/// <summary>
/// transformers cannot be installed on these machines (no PyPI, and Debian does not package it), so no test runs it;
/// <see cref="HuggingFaceReference"/> stands in for its forward pass. To check an export against transformers itself:
/// <code>
/// import torch
/// from transformers import GPT2LMHeadModel, AutoTokenizer
/// model = GPT2LMHeadModel.from_pretrained(folder)   # must not warn about missing or unused weights
/// tokens = torch.tensor([[1, 2, 3]])
/// print(model(tokens).logits)                        # Forge's logits for the same tokens, to float32 rounding
/// tokenizer = AutoTokenizer.from_pretrained(folder)  # when a tokenizer was exported
/// </code>
/// </summary>
public sealed class ExportTests : IDisposable
{
    private readonly TemporaryFolder folder = new("gpt2-export");

    public void Dispose() => folder.Dispose();

    private string PathOf(string file) => Path.Combine(folder.Path, file);

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void TheSafetensorsHeaderListsExactlyTheGpt2TensorNamesAndShapes(bool tied)
    {
        using var model = TinyGpt2.RandomModel(TinyGpt2.Config(tied));
        HuggingFaceGpt2.Export(model, folder.Path);

        var expected = new Dictionary<string, long[]>
        {
            ["transformer.wte.weight"] = [50, 16],
            ["transformer.wpe.weight"] = [8, 16],
            ["transformer.ln_f.weight"] = [16],
            ["transformer.ln_f.bias"] = [16],
        };
        for (var i = 0; i < 2; i++)
        {
            expected[$"transformer.h.{i}.ln_1.weight"] = [16];
            expected[$"transformer.h.{i}.ln_1.bias"] = [16];
            expected[$"transformer.h.{i}.attn.c_attn.weight"] = [16, 48];
            expected[$"transformer.h.{i}.attn.c_attn.bias"] = [48];
            expected[$"transformer.h.{i}.attn.c_proj.weight"] = [16, 16];
            expected[$"transformer.h.{i}.attn.c_proj.bias"] = [16];
            expected[$"transformer.h.{i}.ln_2.weight"] = [16];
            expected[$"transformer.h.{i}.ln_2.bias"] = [16];
            expected[$"transformer.h.{i}.mlp.c_fc.weight"] = [16, 64];
            expected[$"transformer.h.{i}.mlp.c_fc.bias"] = [64];
            expected[$"transformer.h.{i}.mlp.c_proj.weight"] = [64, 16];
            expected[$"transformer.h.{i}.mlp.c_proj.bias"] = [16];
        }
        if (!tied)
            expected["lm_head.weight"] = [50, 16];

        using var header = TinyGpt2.ReadHeader(PathOf(HuggingFaceGpt2.ModelFile));
        var entries = header.RootElement.EnumerateObject().Where(p => p.Name != "__metadata__").ToList();
        Assert.Equal(expected.Keys.Order(StringComparer.Ordinal), entries.Select(e => e.Name).Order(StringComparer.Ordinal));
        foreach (var entry in entries)
        {
            Assert.Equal("F32", entry.Value.GetProperty("dtype").GetString());
            Assert.True(expected[entry.Name].SequenceEqual(entry.Value.GetProperty("shape").EnumerateArray().Select(d => d.GetInt64())), entry.Name);
        }
        var metadata = header.RootElement.GetProperty("__metadata__").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString());
        Assert.Equal(new Dictionary<string, string?> { ["format"] = "pt" }, metadata);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void TransformersForwardPassOverTheExportedTensorsGivesForgesLogits(bool tied)
    {
        var config = TinyGpt2.Config(tied);
        using var model = TinyGpt2.RandomModel(config);
        HuggingFaceGpt2.Export(model, folder.Path);
        using var scope = NewDisposeScope();
        using var stream = File.OpenRead(PathOf(HuggingFaceGpt2.ModelFile));
        using var file = SafeTensors.Read(stream);
        var tokens = TinyGpt2.RandomTokens(config);

        Tensor forge;
        using (no_grad())
            forge = model.call(tokens);
        var exact = HuggingFaceReference.Logits(file.Tensors, config, tokens, HuggingFaceReference.ExactGelu);
        var tanh = HuggingFaceReference.Logits(file.Tensors, config, tokens, HuggingFaceReference.TanhGelu);

        var tolerance = 2e-6 * forge.abs().max().item<float>(); // float32 rounding: sdpa and this transcription sum in other orders
        Assert.True((forge - exact).abs().max().item<float>() <= tolerance, "GPT-2 computes other logits from the exported tensors");
        // The weights are large enough that the MLP's GELU form shows, so activation_function "gelu" is pinned down too.
        Assert.True((forge - tanh).abs().max().item<float>() > 10 * tolerance, "the test cannot tell gelu from gelu_new");
    }

    [Fact]
    public void TheConfigDescribesTheModelInTransformersTerms()
    {
        var config = TinyGpt2.Config(tied: false) with { Dropout = 0.1 };
        using var model = TinyGpt2.RandomModel(config);
        HuggingFaceGpt2.Export(model, folder.Path);

        using var json = JsonDocument.Parse(File.ReadAllBytes(PathOf(HuggingFaceGpt2.ConfigFile)));
        var root = json.RootElement;
        Assert.Equal("gpt2", root.GetProperty("model_type").GetString());
        Assert.Equal(["GPT2LMHeadModel"], root.GetProperty("architectures").EnumerateArray().Select(a => a.GetString()));
        Assert.Equal(50, root.GetProperty("vocab_size").GetInt32());
        Assert.Equal(8, root.GetProperty("n_positions").GetInt32());
        Assert.Equal(8, root.GetProperty("n_ctx").GetInt32());
        Assert.Equal(16, root.GetProperty("n_embd").GetInt32());
        Assert.Equal(2, root.GetProperty("n_layer").GetInt32());
        Assert.Equal(2, root.GetProperty("n_head").GetInt32());
        Assert.Equal(JsonValueKind.Null, root.GetProperty("n_inner").ValueKind);
        Assert.Equal("gelu", root.GetProperty("activation_function").GetString());
        Assert.Equal(1e-5, root.GetProperty("layer_norm_epsilon").GetDouble());
        Assert.Equal(0.1, root.GetProperty("resid_pdrop").GetDouble());
        Assert.Equal(0.1, root.GetProperty("embd_pdrop").GetDouble());
        Assert.Equal(0.1, root.GetProperty("attn_pdrop").GetDouble());
        Assert.False(root.GetProperty("tie_word_embeddings").GetBoolean());
        Assert.Equal(JsonValueKind.Null, root.GetProperty("bos_token_id").ValueKind);
        Assert.Equal(JsonValueKind.Null, root.GetProperty("eos_token_id").ValueKind);
        Assert.False(File.Exists(PathOf(HuggingFaceGpt2.TokenizerFile)));
    }

    [Fact]
    public void AGivenTokenizerIsCopiedAndItsEndOfTextBecomesTheBosAndEosToken()
    {
        using var model = TinyGpt2.RandomModel(TinyGpt2.Config(vocabularySize: 264));
        var tokenizer = TinyGpt2.TokenizerJson();
        HuggingFaceGpt2.Export(model, folder.Path, new MemoryStream(tokenizer));

        Assert.Equal(tokenizer, File.ReadAllBytes(PathOf(HuggingFaceGpt2.TokenizerFile)));
        using var config = JsonDocument.Parse(File.ReadAllBytes(PathOf(HuggingFaceGpt2.ConfigFile)));
        Assert.True(config.RootElement.GetProperty("tie_word_embeddings").GetBoolean());
        Assert.Equal(256, config.RootElement.GetProperty("bos_token_id").GetInt32());
        Assert.Equal(256, config.RootElement.GetProperty("eos_token_id").GetInt32());
        using var tokenizerConfig = JsonDocument.Parse(File.ReadAllBytes(PathOf(HuggingFaceGpt2.TokenizerConfigFile)));
        Assert.Equal("PreTrainedTokenizerFast", tokenizerConfig.RootElement.GetProperty("tokenizer_class").GetString());
        Assert.Equal(8, tokenizerConfig.RootElement.GetProperty("model_max_length").GetInt32());
        Assert.Equal("<|endoftext|>", tokenizerConfig.RootElement.GetProperty("eos_token").GetString());
    }

    [Fact]
    public void ATokenizerWithMoreTokensThanTheModelIsRefused()
    {
        using var model = TinyGpt2.RandomModel(TinyGpt2.Config(vocabularySize: 200));

        var error = Assert.Throws<ArgumentException>(() => HuggingFaceGpt2.Export(model, folder.Path, new MemoryStream(TinyGpt2.TokenizerJson())));

        Assert.Contains("257 tokens", error.Message, StringComparison.Ordinal);
        Assert.Empty(Directory.EnumerateFileSystemEntries(folder.Path));
    }

    [Theory]
    [InlineData("rotary", "learned position")]
    [InlineData("no bias", "without biases")]
    [InlineData("lstm", "Only the gpt architecture")]
    public void AModelGpt2CannotHoldIsRefusedSayingWhy(string kind, string reason)
    {
        var config = kind switch
        {
            "rotary" => TinyGpt2.Config() with { Positions = PositionEncoding.Rotary },
            "no bias" => TinyGpt2.Config() with { Bias = false },
            _ => TinyGpt2.Config() with { Architecture = ModelArchitecture.Lstm },
        };
        using var model = LanguageModel.Create(config);

        var error = Assert.Throws<NotSupportedException>(() => HuggingFaceGpt2.Export(model, folder.Path));

        Assert.Contains(reason, error.Message, StringComparison.Ordinal);
        Assert.Empty(Directory.EnumerateFileSystemEntries(folder.Path));
    }
}
