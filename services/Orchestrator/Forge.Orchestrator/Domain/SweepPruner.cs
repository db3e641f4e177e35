using System.Globalization;

namespace Forge.Orchestrator.Domain;

/// <summary>
/// Decides, at each evaluation of a running trial, whether to stop it. Trials are judged on their held-out loss at the
/// same step as the others, because that is the one number every trial reports on the same data while it runs.
/// Trials run asynchronously (as many at once as the trainers have room for), so a trial is judged against whatever
/// the others have reported at that step so far: a trial that reaches a step first has less to be compared with.
/// A loss that is not a number (a diverged run) counts as the worst possible.
/// <list type="bullet">
/// <item>Median: once the trial has had more than WarmupEvaluations evaluations, and at least MinTrials other trials
/// have a loss at this step, it is stopped when its loss is strictly above the median of theirs.</item>
/// <item>Successive halving (asynchronous, as in ASHA and Optuna's SuccessiveHalvingPruner): at a rung step, of the n
/// trials that have a loss there (this one included), the best max(1, floor(n / Eta)) go on; this one is stopped when
/// its loss is strictly above the loss ranked at that cut-off.</item>
/// </list>
/// </summary>
public static class SweepPruner
{
    /// <returns>Why the trial should stop, or null to let it go on.</returns>
    public static string? Judge(Sweep sweep, SweepTrial trial, long step, double loss)
    {
        var pruning = sweep.Pruning;
        if (pruning.Rule == PruningRule.None || step >= trial.MaxSteps)
            return null;
        loss = Comparable(loss);
        var others = sweep.Trials.Where(t => t.Number != trial.Number)
            .SelectMany(t => t.Evaluations.Where(e => e.Step == step).Take(1))
            .Select(e => Comparable(e.Loss)).ToList();
        return pruning.Rule switch
        {
            PruningRule.Median => Median(pruning, trial, step, loss, others),
            PruningRule.Halving => Halving(pruning, step, loss, others),
            _ => null,
        };
    }

    private static string? Median(SweepPruning pruning, SweepTrial trial, long step, double loss, List<double> others)
    {
        var evaluations = trial.Evaluations.Count(e => e.Step <= step);
        if (evaluations <= pruning.WarmupEvaluations || others.Count < pruning.MinTrials)
            return null;
        others.Sort();
        var middle = others.Count / 2;
        var median = others.Count % 2 == 1 ? others[middle] : (others[middle - 1] + others[middle]) / 2;
        return loss > median
            ? string.Create(CultureInfo.InvariantCulture, $"median rule: validation loss {loss:F4} at step {step} is worse than the median {median:F4} of {others.Count} other trials there")
            : null;
    }

    private static string? Halving(SweepPruning pruning, long step, double loss, List<double> others)
    {
        if (!pruning.Rungs.Contains(step))
            return null;
        var reached = others.Append(loss).Order().ToList();
        var kept = Math.Max(1, reached.Count / pruning.Eta);
        return loss > reached[kept - 1]
            ? string.Create(CultureInfo.InvariantCulture, $"successive halving: validation loss {loss:F4} at rung step {step} is not among the best {kept} of the {reached.Count} trials that reached it (eta {pruning.Eta})")
            : null;
    }

    private static double Comparable(double loss) => double.IsNaN(loss) ? double.PositiveInfinity : loss;
}
