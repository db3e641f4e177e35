using Forge.Model;
using static TorchSharp.torch;

namespace Forge.ModelExport.Tests;

/// <summary>
/// GPT2LMHeadModel's forward pass (eager attention, eval mode), transcribed from transformers' modeling_gpt2.py and
/// run on the exported tensors by their GPT-2 names. It checks what the names and shapes alone cannot: that the
/// tensors mean to transformers what they mean to Forge (Conv1D's x·W + b, the q, k, v split, heads contiguous).
/// </summary>
internal static class HuggingFaceReference
{
    /// <summary>transformers' "gelu" (GELUActivation, PyTorch's exact gelu).</summary>
    public static Tensor ExactGelu(Tensor x) => 0.5 * x * (1 + (x / Math.Sqrt(2)).erf());

    /// <summary>transformers' "gelu_new" (NewGELUActivation), GPT-2's original tanh approximation.</summary>
    public static Tensor TanhGelu(Tensor x) => 0.5 * x * (1 + (Math.Sqrt(2 / Math.PI) * (x + 0.044715 * x.pow(3))).tanh());

    public static Tensor Logits(IReadOnlyDictionary<string, Tensor> weights, GptConfig config, Tensor tokens, Func<Tensor, Tensor> gelu)
    {
        var (batch, length) = (tokens.shape[0], tokens.shape[1]);
        var (width, heads) = ((long)config.Width, (long)config.Heads);
        var headSize = width / heads;

        // Conv1D.forward: torch.addmm(bias, x.view(-1, nx), weight), weight stored [in, out].
        Tensor Conv1D(Tensor x, string name) =>
            addmm(weights[name + ".bias"], x.view(-1, x.shape[^1]), weights[name + ".weight"], beta: 1, alpha: 1).view(batch, length, -1);
        Tensor LayerNorm(Tensor x, string name) =>
            nn.functional.layer_norm(x, [width], weights[name + ".weight"], weights[name + ".bias"], 1e-5);
        Tensor SplitHeads(Tensor x) => x.view(batch, length, heads, headSize).transpose(1, 2); // (B, nh, T, hs)

        var positions = arange(length);
        var hidden = weights["transformer.wte.weight"].index_select(0, tokens.flatten()).view(batch, length, width)
            + weights["transformer.wpe.weight"].index_select(0, positions); // (B, T, C)
        var future = ones(length, length, dtype: ScalarType.Bool).triu(1); // (T, T): true above the diagonal
        for (var i = 0; i < config.Layers; i++)
        {
            var layer = $"transformer.h.{i}";
            var qkv = Conv1D(LayerNorm(hidden, layer + ".ln_1"), layer + ".attn.c_attn").split(width, dim: 2);
            var (query, key, value) = (SplitHeads(qkv[0]), SplitHeads(qkv[1]), SplitHeads(qkv[2]));
            var scores = query.matmul(key.transpose(-1, -2)) / Math.Sqrt(headSize); // (B, nh, T, T)
            var attended = scores.masked_fill(future, float.NegativeInfinity).softmax(-1).matmul(value); // (B, nh, T, hs)
            var merged = attended.transpose(1, 2).contiguous().view(batch, length, width); // (B, T, C)
            hidden = hidden + Conv1D(merged, layer + ".attn.c_proj");
            var inner = gelu(Conv1D(LayerNorm(hidden, layer + ".ln_2"), layer + ".mlp.c_fc")); // (B, T, 4C)
            hidden = hidden + Conv1D(inner, layer + ".mlp.c_proj");
        }
        hidden = LayerNorm(hidden, "transformer.ln_f");
        var head = weights.TryGetValue("lm_head.weight", out var untied) ? untied : weights["transformer.wte.weight"];
        return hidden.matmul(head.t()); // (B, T, V)
    }
}
