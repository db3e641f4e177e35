using System.Diagnostics;
using static TorchSharp.torch;

namespace Forge.Bench.Trainer;

/// <summary>The peak the MFU is measured against: the best fp32 matmul rate this CPU reaches with the same threads.</summary>
public static class MatmulPeak
{
    public static double FlopsPerSecond(int size = 1024, int repeats = 20)
    {
        using var scope = NewDisposeScope();
        var a = randn(size, size);
        var b = randn(size, size);
        for (var i = 0; i < 3; i++)
            a.matmul(b).Dispose();
        var best = double.MaxValue;
        for (var i = 0; i < repeats; i++)
        {
            var started = Stopwatch.GetTimestamp();
            a.matmul(b).Dispose();
            best = Math.Min(best, Stopwatch.GetElapsedTime(started).TotalSeconds);
        }
        return 2.0 * size * size * size / best;
    }
}
