using System.Globalization;

namespace Forge.Bench.Trainer;

/// <summary>The benchmark's options (see the README); an option left out keeps its value in <see cref="BenchSettings"/>.</summary>
public static class CommandLine
{
    public const string Usage = "usage: Forge.Bench.Trainer <tinyshakespeare.txt> [--repeats 3] [--iterations 2000] [--threads 2] [--first-seed 1337] [--sequential]";

    public static BenchSettings Parse(string[] args)
    {
        var defaults = new BenchSettings();
        int Option(string name, int fallback)
        {
            var at = Array.IndexOf(args, name);
            return at >= 0 && at + 1 < args.Length ? int.Parse(args[at + 1], CultureInfo.InvariantCulture) : fallback;
        }
        return defaults with
        {
            Repeats = Option("--repeats", defaults.Repeats),
            Iterations = Option("--iterations", defaults.Iterations),
            Threads = Option("--threads", defaults.Threads),
            FirstSeed = Option("--first-seed", defaults.FirstSeed),
            Lockstep = !args.Contains("--sequential"),
        };
    }
}
