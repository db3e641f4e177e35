using Forge.Model;
using TorchSharp;

namespace Forge.Trainer.Tests;

public sealed class TorchRuntimeTests
{
    [Fact]
    public void LibTorchLoadsAndMultipliesMatrices()
    {
        using var scope = torch.NewDisposeScope();
        var a = torch.tensor(new float[] { 1, 2, 3, 4 }, 2, 2);
        var b = torch.tensor(new float[] { 5, 6, 7, 8 }, 2, 2);

        var product = a.matmul(b);

        Assert.Equal(new float[] { 19, 22, 43, 50 }, product.data<float>().ToArray());
    }

    [Fact]
    public void GradientsFlowThroughAutograd()
    {
        using var scope = torch.NewDisposeScope();
        var x = torch.tensor(new float[] { 1, 2, 3 }, requires_grad: true);

        (x * x).sum().backward();

        Assert.Equal(new float[] { 2, 4, 6 }, x.grad!.data<float>().ToArray());
    }

    [SkippableFact]
    public void AutoSelectsTheCpuWhenNoGpuIsPresent()
    {
        Skip.If(torch.cuda.is_available(), "A CUDA device is present; this test covers hosts without one.");

        Assert.Equal(DeviceType.CPU, TorchRuntime.SelectDevice("auto").type);
        var info = TorchRuntime.Describe();
        Assert.Equal("cpu", info.Device);
        Assert.False(info.CudaAvailable);
        Assert.True(info.Threads >= 1);
    }

    [SkippableFact]
    public void AskingForCudaWithoutCudaIsAClearError()
    {
        Skip.If(torch.cuda.is_available(), "A CUDA device is present; this test covers hosts without one.");

        var error = Assert.Throws<InvalidOperationException>(() => TorchRuntime.SelectDevice("cuda"));
        Assert.Contains("ForgeCuda", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AnUnknownDeviceIsRefused()
    {
        Assert.Throws<ArgumentException>(() => TorchRuntime.SelectDevice("tpu"));
    }

    [Fact]
    public void Bf16IsProbedOnTheCpuWithoutThrowing()
    {
        _ = TorchRuntime.ProbeBf16(torch.CPU);
    }
}
