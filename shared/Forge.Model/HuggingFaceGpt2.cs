using System.Text.Json;
using Forge.Tokenization;
using static TorchSharp.torch;

namespace Forge.Model;

/// <summary>
/// Hugging Face's GPT-2 layout, the folder that <c>GPT2LMHeadModel.from_pretrained(folder)</c> loads: config.json,
/// model.safetensors and, when a tokenizer is given, tokenizer.json with a tokenizer_config.json for AutoTokenizer.
/// <para>
/// Forge's <see cref="Gpt"/> with learned positions and biases computes exactly what GPT-2 computes, so the tensors
/// map one to one (table below). Two things differ in storage only. GPT-2's c_attn, c_proj and c_fc are transformers'
/// Conv1D, which keeps its weight as [in, out], the transpose of nn.Linear's [out, in]; they are transposed both ways.
/// Both split the attention input projection's 3C outputs into query, key and value in that order, each with the heads
/// side by side (head h is channels h·hs to (h+1)·hs), so that projection needs no reordering.
/// </para>
/// <code>
/// tokenEmbedding.weight                 transformer.wte.weight              [V, C]
/// positionEmbedding.weight              transformer.wpe.weight              [T, C]
/// blocks.{i}.attentionNorm.*            transformer.h.{i}.ln_1.*            [C]
/// blocks.{i}.attention.queryKeyValue.*  transformer.h.{i}.attn.c_attn.*     [C, 3C] (transposed), [3C]
/// blocks.{i}.attention.projection.*     transformer.h.{i}.attn.c_proj.*     [C, C] (transposed), [C]
/// blocks.{i}.mlpNorm.*                  transformer.h.{i}.ln_2.*            [C]
/// blocks.{i}.mlp.expand.*               transformer.h.{i}.mlp.c_fc.*        [C, 4C] (transposed), [4C]
/// blocks.{i}.mlp.projection.*           transformer.h.{i}.mlp.c_proj.*      [4C, C] (transposed), [C]
/// finalNorm.*                           transformer.ln_f.*                  [C]
/// head.weight (untied only)             lm_head.weight (untied only)        [V, C]
/// </code>
/// </summary>
public static class HuggingFaceGpt2
{
    public const string ConfigFile = "config.json";
    public const string ModelFile = "model.safetensors";
    public const string TokenizerFile = "tokenizer.json";
    public const string TokenizerConfigFile = "tokenizer_config.json";

    /// <summary>The token GPT-2 uses to begin and end documents; its id becomes bos_token_id and eos_token_id.</summary>
    public const string EndOfText = "<|endoftext|>";

    /// <summary>Gpt's layer norms are TorchSharp's LayerNorm with its default epsilon.</summary>
    private const double GptLayerNormEpsilon = 1e-5;

    /// <summary>transformers' name for PyTorch's exact (erf) GELU, which Gpt's MLP uses (nn.GELU() without approximation).</summary>
    private const string ExactGelu = "gelu";

    /// <summary>transformers' names for GELU's tanh approximation, which OpenAI's GPT-2 checkpoints were trained with.</summary>
    private static readonly string[] TanhGelus = ["gelu_new", "gelu_pytorch_tanh", "gelu_fast"];

    private const string LmHead = "lm_head.weight";
    private const string BasePrefix = "transformer.";

    private static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        WriteIndented = true,
    };

    /// <summary>
    /// Writes <paramref name="model"/> into <paramref name="folder"/> in the GPT-2 layout. Everything is checked before
    /// anything is written: a model GPT-2 cannot represent throws <see cref="NotSupportedException"/> saying why.
    /// </summary>
    /// <param name="tokenizerJson">The model's tokenizer as Hugging Face tokenizer.json; copied as it is. Its
    /// <c>&lt;|endoftext|&gt;</c>, if any, becomes bos_token_id and eos_token_id.</param>
    public static void Export(LanguageModel model, string folder, Stream? tokenizerJson = null)
    {
        var config = ExportableConfig(model);
        var tokenizer = tokenizerJson is null ? null : ReadTokenizer(tokenizerJson, config);
        var endOfText = tokenizer?.Tokenizer.TokenToId(EndOfText);

        Directory.CreateDirectory(folder);
        using (NewDisposeScope())
        {
            var state = model.state_dict();
            var layout = Layout(config).ToList();
            var mapped = layout.Select(t => t.Forge).ToList();
            var mismatched = state.Keys.Except(mapped).Concat(mapped.Except(state.Keys)).ToArray();
            if (mismatched.Length > 0)
                throw new InvalidOperationException($"The GPT-2 mapping and the model's parameters disagree about {string.Join(", ", mismatched)}: Gpt and {nameof(HuggingFaceGpt2)} have drifted apart.");
            var tensors = layout.Select(t => (t.HuggingFace, t.Transposed ? state[t.Forge].detach().t() : state[t.Forge].detach()));
            using var file = File.Create(Path.Combine(folder, ModelFile));
            // transformers refuses a safetensors file whose metadata does not say it holds PyTorch tensors.
            SafeTensors.Write(file, tensors, new Dictionary<string, string> { ["format"] = "pt" });
        }
        WriteJson(Path.Combine(folder, ConfigFile), Gpt2Config.From(config, endOfText));
        if (tokenizer is not null)
        {
            File.WriteAllBytes(Path.Combine(folder, TokenizerFile), tokenizer.Value.Json);
            var specialToken = endOfText is null ? null : EndOfText;
            WriteJson(Path.Combine(folder, TokenizerConfigFile), new TokenizerConfig("PreTrainedTokenizerFast", config.ContextLength, specialToken, specialToken));
        }
    }

    /// <summary>
    /// Reads a GPT-2 layout (one exported here, or a transformers checkpoint saved with safetensors) into a new
    /// <see cref="Gpt"/> in eval mode. Tensor names may carry the "transformer." prefix or not (a GPT2Model saves them
    /// without it); attention-mask buffers (attn.bias, attn.masked_bias) are skipped. Half-precision tensors are widened
    /// to float32. A missing, misshapen or unexpected tensor throws <see cref="InvalidDataException"/> naming it; a
    /// config.json describing a network Gpt does not compute throws <see cref="NotSupportedException"/>.
    /// </summary>
    /// <param name="acceptTanhGelu">
    /// OpenAI's GPT-2 uses GELU's tanh approximation (gelu_new); Gpt computes the exact GELU, which differs from it by
    /// less than 1e-3 per activation, so imported logits then differ slightly from transformers'. True accepts that
    /// (fine for fine-tuning); false refuses such a checkpoint.
    /// </param>
    public static Gpt Import(string folder, bool acceptTanhGelu = false)
    {
        var config = ReadConfig(Path.Combine(folder, ConfigFile)).ToForge(acceptTanhGelu);
        using var file = ReadWeights(Path.Combine(folder, ModelFile));
        var tensors = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        foreach (var (name, tensor) in file.Tensors)
        {
            var full = name == LmHead || name.StartsWith(BasePrefix, StringComparison.Ordinal) ? name : BasePrefix + name;
            if (!IsAttentionMask(full) && !(config.TieEmbeddings && full == LmHead))
                tensors[full] = tensor;
        }

        var model = new Gpt(config);
        try
        {
            var state = model.state_dict();
            var layout = Layout(config).ToList();
            var problems = new List<string>();
            foreach (var (forge, huggingFace, transposed) in layout)
            {
                var expected = transposed ? Enumerable.Reverse(state[forge].shape).ToArray() : state[forge].shape;
                if (!tensors.TryGetValue(huggingFace, out var tensor))
                    problems.Add($"tensor '{huggingFace}' is missing");
                else if (!tensor.shape.SequenceEqual(expected))
                    problems.Add($"tensor '{huggingFace}' is {Shape(tensor.shape)} but this config.json needs {Shape(expected)}");
                else if (!tensor.is_floating_point())
                    problems.Add($"tensor '{huggingFace}' holds {tensor.dtype}, not floating-point numbers");
            }
            var unexpected = tensors.Keys.Except(layout.Select(t => t.HuggingFace)).ToArray();
            if (unexpected.Length > 0)
                problems.Add($"GPT-2 with this config.json has no place for {string.Join(", ", unexpected.Take(10).Select(n => $"'{n}'"))}{(unexpected.Length > 10 ? $" and {unexpected.Length - 10} more" : "")}");
            if (problems.Count > 0)
                throw new InvalidDataException($"{ModelFile} does not fit {ConfigFile}: {string.Join("; ", problems)}.");

            using (no_grad())
            using (NewDisposeScope())
            {
                foreach (var (forge, huggingFace, transposed) in layout)
                    state[forge].copy_(transposed ? tensors[huggingFace].t() : tensors[huggingFace]);
            }
            model.eval();
            return model;
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    /// <summary>Pairs every Forge parameter name with its GPT-2 name; Transposed marks Conv1D weights.</summary>
    private static IEnumerable<(string Forge, string HuggingFace, bool Transposed)> Layout(GptConfig config)
    {
        yield return ("tokenEmbedding.weight", "transformer.wte.weight", false);
        yield return ("positionEmbedding.weight", "transformer.wpe.weight", false);
        for (var i = 0; i < config.Layers; i++)
        {
            (string Forge, string HuggingFace, bool Transposed)[] modules =
            [
                ("attentionNorm", "ln_1", false),
                ("attention.queryKeyValue", "attn.c_attn", true),
                ("attention.projection", "attn.c_proj", true),
                ("mlpNorm", "ln_2", false),
                ("mlp.expand", "mlp.c_fc", true),
                ("mlp.projection", "mlp.c_proj", true),
            ];
            foreach (var (forge, huggingFace, transposed) in modules)
            {
                yield return ($"blocks.{i}.{forge}.weight", $"transformer.h.{i}.{huggingFace}.weight", transposed);
                yield return ($"blocks.{i}.{forge}.bias", $"transformer.h.{i}.{huggingFace}.bias", false);
            }
        }
        yield return ("finalNorm.weight", "transformer.ln_f.weight", false);
        yield return ("finalNorm.bias", "transformer.ln_f.bias", false);
        if (!config.TieEmbeddings)
            yield return ("head.weight", LmHead, false);
    }

    private static GptConfig ExportableConfig(LanguageModel model)
    {
        var config = model.Config;
        if (model is not Gpt || config.Architecture != ModelArchitecture.Gpt)
            throw new NotSupportedException($"Only the gpt architecture exports to Hugging Face GPT-2; this model is {config.Architecture}, which GPT-2's transformer layout cannot hold.");
        if (config.Positions != PositionEncoding.Learned)
            throw new NotSupportedException($"This model uses {config.Positions} positions, but GPT-2 adds learned position embeddings (transformer.wpe) and cannot compute rotary ones; only models with learned positions export to GPT-2.");
        if (!config.Bias)
            throw new NotSupportedException("This model was built without biases (Bias false), but every GPT-2 linear layer and layer norm has one; only models with biases export to GPT-2.");
        return config;
    }

    private static (BpeTokenizer Tokenizer, byte[] Json)? ReadTokenizer(Stream tokenizerJson, GptConfig config)
    {
        using var copy = new MemoryStream();
        tokenizerJson.CopyTo(copy);
        var json = copy.ToArray();
        var tokenizer = TokenizerFiles.ReadHuggingFace(new MemoryStream(json, writable: false), TokenizerFile);
        if (tokenizer.VocabularySize > config.VocabularySize)
            throw new ArgumentException($"The tokenizer has {tokenizer.VocabularySize} tokens but the model only {config.VocabularySize} embeddings: they do not belong together.", nameof(tokenizerJson));
        return (tokenizer, json);
    }

    private static Gpt2Config ReadConfig(string path)
    {
        if (!File.Exists(path))
            throw new FileNotFoundException($"'{path}' does not exist: a Hugging Face model folder starts with its {ConfigFile}.", path);
        try
        {
            using var stream = File.OpenRead(path);
            return JsonSerializer.Deserialize<Gpt2Config>(stream, Json) ?? throw new InvalidDataException($"{ConfigFile} is null.");
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{ConfigFile} is not a valid GPT-2 configuration: {e.Message}", e);
        }
    }

    private static SafeTensorsFile ReadWeights(string path)
    {
        if (!File.Exists(path))
            throw new FileNotFoundException($"'{path}' does not exist: only safetensors weights are read, not pytorch_model.bin.", path);
        using var stream = File.OpenRead(path);
        return SafeTensors.Read(stream);
    }

    private static void WriteJson<T>(string path, T value)
    {
        using var stream = File.Create(path);
        JsonSerializer.Serialize(stream, value, Json);
    }

    /// <summary>The causal mask older transformers versions saved with every attention layer: derived, not learned.</summary>
    private static bool IsAttentionMask(string name) =>
        name.StartsWith(BasePrefix + "h.", StringComparison.Ordinal)
        && (name.EndsWith(".attn.bias", StringComparison.Ordinal) || name.EndsWith(".attn.masked_bias", StringComparison.Ordinal));

    private static string Shape(long[] shape) => $"[{string.Join(", ", shape)}]";

    /// <summary>
    /// The fields of transformers' GPT2Config that bear on the network, in its snake_case names; a field config.json
    /// leaves out takes GPT2Config's default, as transformers does.
    /// </summary>
    private sealed record Gpt2Config
    {
        public string? ModelType { get; init; }
        public IReadOnlyList<string> Architectures { get; init; } = [];
        public int VocabSize { get; init; } = 50257;
        public int NPositions { get; init; } = 1024;

        /// <summary>Not read by transformers any more, but by older tools (conversion scripts) that expect it.</summary>
        public int? NCtx { get; init; }

        public int NEmbd { get; init; } = 768;
        public int NLayer { get; init; } = 12;
        public int NHead { get; init; } = 12;

        /// <summary>The MLP's width; null means 4·n_embd.</summary>
        public int? NInner { get; init; }

        public string ActivationFunction { get; init; } = "gelu_new";
        public double ResidPdrop { get; init; } = 0.1;
        public double EmbdPdrop { get; init; } = 0.1;
        public double AttnPdrop { get; init; } = 0.1;
        public double LayerNormEpsilon { get; init; } = 1e-5;
        public double InitializerRange { get; init; } = 0.02;
        public bool ScaleAttnWeights { get; init; } = true;
        public bool ScaleAttnByInverseLayerIdx { get; init; }
        public bool ReorderAndUpcastAttn { get; init; }
        public bool AddCrossAttention { get; init; }
        public bool TieWordEmbeddings { get; init; } = true;
        public int? BosTokenId { get; init; } = 50256;
        public int? EosTokenId { get; init; } = 50256;

        public static Gpt2Config From(GptConfig config, int? endOfText) => new()
        {
            ModelType = "gpt2",
            Architectures = ["GPT2LMHeadModel"],
            VocabSize = config.VocabularySize,
            NPositions = config.ContextLength,
            NCtx = config.ContextLength,
            NEmbd = config.Width,
            NLayer = config.Layers,
            NHead = config.Heads,
            ActivationFunction = ExactGelu,
            ResidPdrop = config.Dropout,
            EmbdPdrop = config.Dropout,
            AttnPdrop = config.Dropout,
            LayerNormEpsilon = GptLayerNormEpsilon,
            InitializerRange = Gpt.InitStd,
            TieWordEmbeddings = config.TieEmbeddings,
            BosTokenId = endOfText,
            EosTokenId = endOfText,
        };

        /// <summary>
        /// Gpt's configuration for this network. Forge has one dropout rate where GPT-2 has three; it takes the largest,
        /// which matters only for training.
        /// </summary>
        public GptConfig ToForge(bool acceptTanhGelu)
        {
            string? unsupported = null;
            if (ModelType != "gpt2")
                unsupported = $"model_type is {(ModelType is null ? "missing" : $"'{ModelType}'")}, not gpt2";
            else if (NInner is { } inner && inner != 4 * NEmbd)
                unsupported = $"n_inner is {inner}, but Gpt's MLP is 4·n_embd = {4 * NEmbd} wide";
            else if (ActivationFunction != ExactGelu && !(acceptTanhGelu && TanhGelus.Contains(ActivationFunction)))
                unsupported = TanhGelus.Contains(ActivationFunction)
                    ? $"activation_function is '{ActivationFunction}', GELU's tanh approximation, but Gpt computes the exact GELU ('{ExactGelu}'); import with acceptTanhGelu to take the small difference"
                    : $"activation_function is '{ActivationFunction}', but Gpt computes the exact GELU ('{ExactGelu}')";
            else if (LayerNormEpsilon != GptLayerNormEpsilon)
                unsupported = $"layer_norm_epsilon is {LayerNormEpsilon}, but Gpt's layer norms use {GptLayerNormEpsilon}";
            else if (!ScaleAttnWeights || ScaleAttnByInverseLayerIdx)
                unsupported = "attention scores are not scaled by 1/√head_size alone (scale_attn_weights, scale_attn_by_inverse_layer_idx)";
            else if (AddCrossAttention)
                unsupported = "the layers have cross-attention (add_cross_attention)";
            if (unsupported is not null)
                throw new NotSupportedException($"{ConfigFile} describes a network Forge's Gpt does not compute: {unsupported}.");

            var config = new GptConfig
            {
                Architecture = ModelArchitecture.Gpt,
                VocabularySize = VocabSize,
                ContextLength = NPositions,
                Layers = NLayer,
                Heads = NHead,
                Width = NEmbd,
                Dropout = Math.Max(ResidPdrop, Math.Max(EmbdPdrop, AttnPdrop)),
                Bias = true,
                Positions = PositionEncoding.Learned,
                TieEmbeddings = TieWordEmbeddings,
            };
            var problems = config.Problems();
            if (problems.Count > 0)
                throw new InvalidDataException($"{ConfigFile} describes no usable model: {string.Join(" ", problems)}");
            return config;
        }
    }

    /// <summary>
    /// tokenizer_config.json: PreTrainedTokenizerFast reads tokenizer.json as it is. Without this file AutoTokenizer
    /// would pick GPT2TokenizerFast, which adds &lt;|endoftext|&gt; as a new token when the vocabulary lacks it.
    /// </summary>
    private sealed record TokenizerConfig(string TokenizerClass, int ModelMaxLength, string? BosToken, string? EosToken);
}
