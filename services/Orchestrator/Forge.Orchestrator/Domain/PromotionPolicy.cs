using System.Text.RegularExpressions;
using static System.FormattableString;

namespace Forge.Orchestrator.Domain;

public enum MetricGoal
{
    Maximize,
    Minimize,
}

/// <summary>
/// One metric on one eval set that promotion looks at: it must reach <see cref="Threshold"/> when one is set (at least
/// it when maximised, at most it when minimised), and it is compared with the promoted version's.
/// </summary>
public sealed record MetricGate
{
    public string? EvalSet { get; init; }
    public string? Metric { get; init; }
    /// <summary>Null takes the metric's usual direction: perplexity, loss and bitsPerByte are minimised, everything else maximised.</summary>
    public MetricGoal? Goal { get; init; }
    public double? Threshold { get; init; }

    public MetricGoal GoalOrUsual() => Goal ?? PromotionPolicy.UsualGoal(Metric ?? "");
}

/// <summary>What a version must show to be promoted. Without gates every promotion passes.</summary>
public sealed partial record PromotionPolicy
{
    private static readonly HashSet<string> Minimized = new(["perplexity", "loss", "bitsPerByte"], StringComparer.OrdinalIgnoreCase);

    public List<MetricGate> Gates { get; init; } = [];

    /// <summary>The candidate must do no worse than the promoted version on any gate both were measured on, and better on one.</summary>
    public bool MustBeatPromoted { get; init; } = true;

    public static MetricGoal UsualGoal(string metric) => Minimized.Contains(metric) ? MetricGoal.Minimize : MetricGoal.Maximize;

    [GeneratedRegex("^[A-Za-z][A-Za-z0-9_-]{0,63}$")]
    public static partial Regex MetricNamePattern();

    [GeneratedRegex("^[a-z0-9][a-z0-9._-]{0,63}$")]
    public static partial Regex EvalSetNamePattern();

    /// <summary>The first problem with the policy as a (JSON path, message) pair, or null.</summary>
    public (string Field, string Message)? Validate()
    {
        if (Gates is null)
            return ("$.gates", "must be an array (empty for no gates)");
        var seen = new HashSet<(string, string)>();
        for (var i = 0; i < Gates.Count; i++)
        {
            var gate = Gates[i];
            if (gate is null)
                return (Invariant($"$.gates[{i}]"), "is null");
            if (gate.EvalSet is null || !EvalSetNamePattern().IsMatch(gate.EvalSet))
                return (Invariant($"$.gates[{i}].evalSet"), "must name an eval set: 1 to 64 lowercase letters, digits, '.', '_' or '-'");
            if (gate.Metric is null || !MetricNamePattern().IsMatch(gate.Metric))
                return (Invariant($"$.gates[{i}].metric"), "must name a metric: a letter then up to 63 letters, digits, '_' or '-'");
            if (gate.Threshold is { } threshold && !double.IsFinite(threshold))
                return (Invariant($"$.gates[{i}].threshold"), "must be a finite number");
            if (!seen.Add((gate.EvalSet, gate.Metric)))
                return (Invariant($"$.gates[{i}]"), $"gates {gate.Metric} on {gate.EvalSet} a second time");
        }
        return null;
    }

    /// <summary>Why <paramref name="candidate"/> may not replace <paramref name="promoted"/>; empty when it may.</summary>
    public IReadOnlyList<string> Check(ModelVersion candidate, ModelVersion? promoted)
    {
        var reasons = new List<string>();
        int compared = 0, improved = 0;
        foreach (var gate in Gates)
        {
            var (evalSet, metric, goal) = (gate.EvalSet!, gate.Metric!, gate.GoalOrUsual());
            if (candidate.Metric(evalSet, metric) is not { } value)
            {
                reasons.Add($"{metric} on {evalSet} has not been measured");
                continue;
            }
            if (gate.Threshold is { } threshold && (goal == MetricGoal.Maximize ? value < threshold : value > threshold))
                reasons.Add(Invariant($"{metric} on {evalSet} is {value:G6}, {(goal == MetricGoal.Maximize ? "below the minimum" : "above the maximum")} {threshold:G6}"));
            if (!MustBeatPromoted || promoted?.Metric(evalSet, metric) is not { } incumbent)
                continue;
            compared++;
            if (goal == MetricGoal.Maximize ? value < incumbent : value > incumbent)
                reasons.Add(Invariant($"{metric} on {evalSet} is {value:G6}, worse than {incumbent:G6} of the promoted {promoted.Id}"));
            else if (value != incumbent)
                improved++;
        }
        if (compared > 0 && improved == 0 && reasons.Count == 0)
            reasons.Add($"no gated metric is better than the promoted {promoted!.Id}'s");
        return reasons;
    }
}
