namespace Forge.Bench.Trainer;

/// <summary>nanoGPT's CPU configuration for shakespeare_char.</summary>
public sealed record BenchSettings
{
    public int Layers { get; init; } = 4;
    public int Heads { get; init; } = 4;
    public int Width { get; init; } = 128;
    public int Block { get; init; } = 64;
    public int BatchSize { get; init; } = 12;
    public int Iterations { get; init; } = 2000;
    public int EvaluationInterval { get; init; } = 250;
    public int EvaluationBatches { get; init; } = 20;
    public int FinalEvaluationBatches { get; init; } = 200;
    public int Threads { get; init; } = 2;
    public int Repeats { get; init; } = 3;
    public int FirstSeed { get; init; } = 1337;

    /// <summary>Whether Forge and the bare loop take turns step by step (see ForgeRun.RunInLockstep) rather than train one after the other.</summary>
    public bool Lockstep { get; init; } = true;
}

public sealed record RunResult(
    string Name,
    IReadOnlyList<double> IterationMilliseconds,
    TimeSpan Elapsed,
    IReadOnlyList<(int Step, double Loss)> Evaluations,
    double FinalValidationLoss,
    double FullValidationLoss,
    long Parameters)
{
    /// <summary>Mean over training iterations only (evaluations excluded), after the first 10 (warm-up).</summary>
    public double MeanIterationMilliseconds => IterationMilliseconds.Skip(10).Average();

    public double MedianIterationMilliseconds => Percentile(50);

    /// <summary>Nearest-rank percentile of the iteration times after warm-up: the middle ones resist a busy machine's outliers.</summary>
    public double Percentile(int percent)
    {
        var sorted = IterationMilliseconds.Skip(10).Order().ToArray();
        return sorted[Math.Min(sorted.Length - 1, sorted.Length * percent / 100)];
    }
}
