using Forge.Model;
using TorchSharp;
using static TorchSharp.torch;

namespace Forge.Model.Tests;

public sealed class ComputePrecisionTests
{
    private static readonly Device Cuda = new(DeviceType.CUDA, 0);

    [Fact]
    public void AutoChoosesBf16OnlyOnACudaDeviceThatSupportsIt()
    {
        Assert.Equal(ScalarType.BFloat16, ComputePrecision.Select("auto", Cuda, _ => true));
        Assert.Equal(ScalarType.Float32, ComputePrecision.Select("auto", Cuda, _ => false));
        Assert.Equal(ScalarType.Float32, ComputePrecision.Select("auto", CPU, _ => true));
    }

    [Fact]
    public void Fp32IsAlwaysFp32AndBf16IsRefusedWhereItCannotRun()
    {
        Assert.Equal(ScalarType.Float32, ComputePrecision.Select("fp32", Cuda, _ => true));
        Assert.Equal(ScalarType.BFloat16, ComputePrecision.Select("BF16", CPU, _ => true));
        var error = Assert.Throws<InvalidOperationException>(() => ComputePrecision.Select("bf16", CPU, _ => false));
        Assert.Contains("cannot multiply bf16", error.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => ComputePrecision.Select("fp16", CPU, _ => true));
    }

    [SkippableFact]
    public void UnderBf16TheMatmulsRunInBf16WhileParametersAndLossStayFloat32()
    {
        Skip.IfNot(TorchRuntime.ProbeBf16(CPU), "This CPU build cannot multiply bf16 matrices.");
        manual_seed(1);
        using var model = new Gpt(Tiny.Gpt(12) with { Positions = PositionEncoding.Rotary, TieEmbeddings = false }) { ComputeType = ScalarType.BFloat16 };
        using var scope = NewDisposeScope();
        var tokens = randint(0, 12, [2, 16]);

        var logits = model.call(tokens);
        var loss = model.Loss(tokens, tokens);
        loss.backward();

        Assert.Equal(ScalarType.BFloat16, logits.dtype);
        Assert.Equal(ScalarType.Float32, loss.dtype);
        Assert.True(float.IsFinite(loss.item<float>()));
        Assert.All(model.parameters(), p => Assert.Equal(ScalarType.Float32, p.dtype));
        Assert.All(model.parameters(), p => Assert.Equal(ScalarType.Float32, p.grad!.dtype));
    }
}
