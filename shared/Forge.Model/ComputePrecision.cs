using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Forge.Model;

/// <summary>
/// Mixed precision without torch.autocast, which TorchSharp 0.107 does not expose. Forge does by hand what autocast
/// does for these networks: parameters stay float32 (so AdamW updates them at full precision), the operands of every
/// matmul are cast to the compute type, and the residual stream, layer norms and the loss stay float32.
/// </summary>
public static class ComputePrecision
{
    public static bool IsKnown(string precision) => Normalize(precision) is not null;

    /// <summary>auto picks bf16 only on a CUDA device that multiplies bf16 matrices; bf16 on a device that cannot is an error.</summary>
    public static ScalarType Select(string precision, Device device, Func<Device, bool> supportsBf16)
    {
        switch (Normalize(precision))
        {
            case "fp32":
                return ScalarType.Float32;
            case "bf16":
                if (!supportsBf16(device))
                    throw new InvalidOperationException($"Precision bf16 was asked for, but {device} cannot multiply bf16 matrices.");
                return ScalarType.BFloat16;
            case "auto":
                return device.type == DeviceType.CUDA && supportsBf16(device) ? ScalarType.BFloat16 : ScalarType.Float32;
            default:
                throw new ArgumentException($"Precision '{precision}' is not known; use auto, fp32 or bf16.", nameof(precision));
        }
    }

    public static ScalarType Select(string precision, Device device) => Select(precision, device, TorchRuntime.ProbeBf16);

    /// <summary>x·Wᵀ + b with the operands in <paramref name="compute"/>; the result stays in it.</summary>
    public static Tensor Linear(Tensor input, Tensor weight, Tensor? bias, ScalarType compute) =>
        weight.dtype == compute
            ? nn.functional.linear(input, weight, bias)
            : nn.functional.linear(input.to(compute), weight.to(compute), bias?.to(compute));

    private static string? Normalize(string precision) => precision.Trim().ToLowerInvariant() switch
    {
        "auto" => "auto",
        "fp32" or "float32" => "fp32",
        "bf16" or "bfloat16" => "bf16",
        _ => null,
    };
}

/// <summary>nn.Linear whose matmul runs in the model's compute type, initialised as GPT-2 does: normal(0, std), zero bias.</summary>
internal sealed class AutocastLinear : nn.Module<Tensor, Tensor>
{
    private readonly Parameter weight;
    private readonly Parameter? bias;

    public AutocastLinear(long inputs, long outputs, bool hasBias, double std) : base(nameof(AutocastLinear))
    {
        weight = new Parameter(empty(outputs, inputs));
        nn.init.normal_(weight, 0, std);
        bias = hasBias ? new Parameter(zeros(outputs)) : null;
        RegisterComponents();
    }

    public ScalarType ComputeType { get; set; } = ScalarType.Float32;

    public Tensor Weight => weight;

    public override Tensor forward(Tensor input) => ComputePrecision.Linear(input, weight, bias, ComputeType);
}
