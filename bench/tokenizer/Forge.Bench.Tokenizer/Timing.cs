using System.Diagnostics;

namespace Forge.Bench.Tokenizer;

/// <summary>Wall-clock timing of repeated actions, in seconds per run.</summary>
public static class Timing
{
    /// <summary>Times two actions in alternation (a, b, a, b, …), so that a neighbour's load falls on both alike.</summary>
    public static (List<double> A, List<double> B) InTurns(int repeats, Action a, Action b)
    {
        var (aSeconds, bSeconds) = (new List<double>(), new List<double>());
        Measure(1, a);
        Measure(1, b);
        for (var run = 0; run < repeats; run++)
        {
            aSeconds.AddRange(Measure(1, a, warmUp: false));
            bSeconds.AddRange(Measure(1, b, warmUp: false));
        }
        return (aSeconds, bSeconds);
    }

    public static List<double> Measure(int repeats, Action action, bool warmUp = true)
    {
        // Warm up for a second and at least three runs, so that both sides are timed with fully optimised (tier-1) code.
        var warmUpWatch = Stopwatch.StartNew();
        for (var run = 0; warmUp && (run < 3 || warmUpWatch.Elapsed < TimeSpan.FromSeconds(1)); run++)
            action();
        var seconds = new List<double>();
        for (var run = 0; run < repeats; run++)
        {
            var watch = Stopwatch.StartNew();
            action();
            seconds.Add(watch.Elapsed.TotalSeconds);
        }
        return seconds;
    }

    public static double Median(List<double> values)
    {
        var sorted = values.Order().ToList();
        return sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[sorted.Count / 2 - 1] + sorted[sorted.Count / 2]) / 2;
    }
}
