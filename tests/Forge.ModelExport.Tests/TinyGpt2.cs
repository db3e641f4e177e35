using System.Buffers.Binary;
using System.Text.Json;
using Forge.Model;
using Forge.Tokenization;
using static TorchSharp.torch;

namespace Forge.ModelExport.Tests;

/// <summary>Small models, inputs and file readers shared by the export and import tests.</summary>
internal static class TinyGpt2
{
    public static GptConfig Config(bool tied = true, int vocabularySize = 50) => new()
    {
        VocabularySize = vocabularySize,
        ContextLength = 8,
        Layers = 2,
        Heads = 2,
        Width = 16,
        TieEmbeddings = tied,
    };

    /// <summary>
    /// A Gpt whose every parameter is random and large: zero biases, unit norms or 0.02-sized weights would hide a
    /// transposed or misplaced tensor, and keep the MLP's inputs where both GELU forms agree.
    /// </summary>
    public static Gpt RandomModel(GptConfig config, long seed = 7)
    {
        var model = new Gpt(config);
        var generator = new Generator((ulong)seed);
        using (no_grad())
        {
            foreach (var (name, parameter) in model.named_parameters())
                parameter.normal_(name.EndsWith("Norm.weight", StringComparison.Ordinal) ? 1 : 0, 0.5, generator);
        }
        model.eval();
        return model;
    }

    public static Tensor RandomTokens(GptConfig config, long seed = 11) =>
        randint(0, config.VocabularySize, [3, config.ContextLength], dtype: ScalarType.Int64, generator: new Generator((ulong)seed));

    /// <summary>A byte-level tokenizer with GPT-2's end-of-text token after the 256 bytes, as tokenizer.json.</summary>
    public static byte[] TokenizerJson()
    {
        var tokens = Enumerable.Range(0, 256).Select(b => ByteLevel.CharOf((byte)b).ToString()).Append(HuggingFaceGpt2.EndOfText).ToList();
        var tokenizer = new BpeTokenizer(tokens, [], [new AddedToken(256, HuggingFaceGpt2.EndOfText)]);
        using var json = new MemoryStream();
        TokenizerFiles.WriteHuggingFace(tokenizer, json);
        return json.ToArray();
    }

    /// <summary>The JSON header of a safetensors file, parsed here rather than by Forge's reader.</summary>
    public static JsonDocument ReadHeader(string path)
    {
        var bytes = File.ReadAllBytes(path);
        var length = BinaryPrimitives.ReadInt64LittleEndian(bytes);
        return JsonDocument.Parse(bytes.AsMemory(8, (int)length));
    }

    /// <summary>Rewrites a safetensors file through <paramref name="change"/>, which maps its tensors to the new ones.</summary>
    public static void Rewrite(string path, Func<IReadOnlyDictionary<string, Tensor>, IEnumerable<(string, Tensor)>> change)
    {
        List<(string, Tensor)> tensors;
        Dictionary<string, string> metadata;
        using (var stream = File.OpenRead(path))
        using (var file = SafeTensors.Read(stream))
        {
            metadata = file.Metadata.ToDictionary();
            tensors = change(file.Tensors).Select(t => (t.Item1, t.Item2.clone())).ToList();
        }
        using var output = File.Create(path);
        SafeTensors.Write(output, tensors, metadata);
    }

    public static bool Identical(Tensor a, Tensor b) => a.dtype == b.dtype && a.shape.SequenceEqual(b.shape) && a.eq(b).all().item<bool>();
}
