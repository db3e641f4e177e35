using System.Runtime.InteropServices;
using TorchSharp;

namespace Forge.Model;

public sealed record TorchDeviceInfo(string Device, bool CudaAvailable, int CudaDevices, bool Bf16Supported, int Threads, string TorchSharpVersion);

/// <summary>Chooses the device once per process and describes what this machine offers.</summary>
public static class TorchRuntime
{
    /// <summary>"auto" picks CUDA when present, else the CPU; "cpu" and "cuda" (or "cuda:N") force a choice.</summary>
    public static torch.Device SelectDevice(string preference = "auto")
    {
        var wanted = preference.Trim().ToLowerInvariant();
        if (wanted == "auto")
            return torch.cuda.is_available() ? torch.CUDA : torch.CPU;
        if (wanted.StartsWith("cuda", StringComparison.Ordinal) && !torch.cuda.is_available())
            throw new InvalidOperationException($"Device '{preference}' was asked for, but this build or machine has no CUDA (build with -p:ForgeCuda=true on a GPU host).");
        if (wanted != "cpu" && !wanted.StartsWith("cuda", StringComparison.Ordinal))
            throw new ArgumentException($"Device '{preference}' is not known; use auto, cpu, cuda or cuda:N.", nameof(preference));
        return new torch.Device(wanted);
    }

    /// <summary>Sets the intra-op thread count; 0 leaves libtorch's default (one per core).</summary>
    public static void ConfigureThreads(int threads)
    {
        if (threads > 0)
            torch.set_num_threads(threads);
    }

    public static TorchDeviceInfo Describe(string preference = "auto")
    {
        var device = SelectDevice(preference);
        var cuda = torch.cuda.is_available();
        return new TorchDeviceInfo(
            device.ToString(),
            cuda,
            cuda ? torch.cuda.device_count() : 0,
            cuda && ProbeBf16(torch.CUDA),
            torch.get_num_threads(),
            typeof(torch).Assembly.GetName().Version?.ToString() ?? "unknown");
    }

    /// <summary>TorchSharp has no is_bf16_supported, so ask the device: a bf16 matmul either runs or throws.</summary>
    public static bool ProbeBf16(torch.Device device)
    {
        try
        {
            using var scope = torch.NewDisposeScope();
            var ones = torch.ones(2, 2, dtype: torch.bfloat16, device: device);
            return ones.matmul(ones).sum().to(torch.float32).item<float>() == 8f;
        }
        catch (Exception e) when (e is ExternalException or InvalidOperationException or ArgumentException)
        {
            return false;
        }
    }
}
