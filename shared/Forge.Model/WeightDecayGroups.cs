using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Forge.Model;

/// <summary>
/// nanoGPT's optimizer grouping: parameters with two or more dimensions (weight matrices and embeddings) decay,
/// vectors (biases, layer-norm gains) do not.
/// </summary>
public sealed record WeightDecayGroups(IReadOnlyList<(string Name, Parameter Parameter)> Decayed, IReadOnlyList<(string Name, Parameter Parameter)> NotDecayed)
{
    public static WeightDecayGroups Of(nn.Module model)
    {
        var trainable = model.named_parameters().Where(p => p.parameter.requires_grad).ToList();
        return new(trainable.Where(p => p.parameter.dim() >= 2).ToList(), trainable.Where(p => p.parameter.dim() < 2).ToList());
    }

    /// <summary>Decayed first, then the rest: checkpoints store optimizer state under parameter names, so this order is not part of the format.</summary>
    public IEnumerable<(string Name, Parameter Parameter)> All => Decayed.Concat(NotDecayed);

    public AdamW CreateAdamW(TrainingConfig training) => optim.AdamW(
        [
            new AdamW.ParamGroup(Decayed.Select(p => p.Parameter).ToArray(), new AdamW.Options { weight_decay = training.WeightDecay }),
            new AdamW.ParamGroup(NotDecayed.Select(p => p.Parameter).ToArray(), new AdamW.Options { weight_decay = 0 }),
        ],
        lr: training.LearningRate,
        beta1: training.Beta1,
        beta2: training.Beta2,
        eps: training.Epsilon);
}
