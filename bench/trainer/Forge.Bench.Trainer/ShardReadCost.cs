using System.Diagnostics;
using Forge.Tokenization;

namespace Forge.Bench.Trainer;

/// <summary>What reading windows from a memory-mapped shard costs per token, to decide whether TokenShardReader needs speeding up.</summary>
public static class ShardReadCost
{
    public static double NanosecondsPerToken(string shard, int window, int reads = 20_000)
    {
        using var reader = new TokenShardReader(shard);
        var buffer = new long[window];
        var random = new Random(1);
        for (var i = 0; i < 1000; i++)
            reader.Read(random.NextInt64(reader.Count - window), buffer);
        var started = Stopwatch.GetTimestamp();
        for (var i = 0; i < reads; i++)
            reader.Read(random.NextInt64(reader.Count - window), buffer);
        return Stopwatch.GetElapsedTime(started).TotalNanoseconds / ((double)reads * window);
    }
}
