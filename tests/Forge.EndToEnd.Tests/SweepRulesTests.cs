using System.Text.Json;
using Forge.Model;
using Forge.Orchestrator.Domain;

namespace Forge.EndToEnd.Tests;

/// <summary>The sweep's planning and pruning rules on their own, without services.</summary>
public sealed class SweepRulesTests
{
    private static readonly GptConfig Model = new() { VocabularySize = 64, Layers = 1, Heads = 2, Width = 32, ContextLength = 16 };
    private static readonly TrainingConfig Training = new() { MaxSteps = 60, WarmupSteps = 5, DecaySteps = 60, EvaluationInterval = 10 };

    private static (IReadOnlyList<PlannedTrial> Trials, IReadOnlyList<SweepProblem> Problems) Plan(string parameters, SweepStrategy strategy = SweepStrategy.Grid, int? trials = null, int seed = 0) =>
        SweepPlanner.Plan(new SweepDefinition(Model, Training, JsonSerializer.Deserialize<JsonElement>(parameters), strategy, trials, seed, new SweepPruning()));

    [Fact]
    public void AGridIsEveryCombinationWithTheFirstParameterVaryingSlowest()
    {
        var (trials, problems) = Plan("""{"training.learningRate": [0.001, 0.003], "model.width": [32, 64, 96]}""");

        Assert.Empty(problems);
        Assert.Equal([0.001, 0.001, 0.001, 0.003, 0.003, 0.003], trials.Select(t => t.Training.LearningRate));
        Assert.Equal([32, 64, 96, 32, 64, 96], trials.Select(t => t.Model.Width));
        Assert.All(trials, t => Assert.Equal(Model.Layers, t.Model.Layers));
        Assert.Equal(["training.learningRate", "model.width"], trials[0].Settings.Select(s => s.Path));
    }

    [Fact]
    public void RandomSearchDrawsTheSameTrialsFromTheSameSeedWithinItsRanges()
    {
        const string parameters = """{"training.learningRate": {"min": 0.0001, "max": 0.01, "log": true}, "model.layers": {"min": 1, "max": 3}, "model.bias": [true, false]}""";
        var (first, problems) = Plan(parameters, SweepStrategy.Random, trials: 20, seed: 5);
        var (again, _) = Plan(parameters, SweepStrategy.Random, trials: 20, seed: 5);
        var (other, _) = Plan(parameters, SweepStrategy.Random, trials: 20, seed: 6);

        Assert.Empty(problems);
        Assert.Equal(20, first.Count);
        Assert.Equal(first.Select(t => t.Training), again.Select(t => t.Training));
        Assert.NotEqual(first.Select(t => t.Training), other.Select(t => t.Training));
        Assert.All(first, t => Assert.InRange(t.Training.LearningRate, 0.0001, 0.01));
        Assert.All(first, t => Assert.InRange(t.Model.Layers, 1, 3));
        Assert.Equal([1, 2, 3], first.Select(t => t.Model.Layers).Distinct().Order());
        Assert.Equal([false, true], first.Select(t => t.Model.Bias).Distinct().Order());
    }

    [Fact]
    public void AProblemIsPinnedOnTheSweptParameterThatCausedIt()
    {
        var (trials, problems) = Plan("""{"model.heads": [2, 3]}""");

        Assert.Empty(trials);
        var problem = Assert.Single(problems);
        Assert.Equal("parameters.model.heads", problem.Field);
        Assert.Contains("model.heads=3", problem.Message, StringComparison.Ordinal);
    }

    private static Sweep SweepOf(SweepPruning pruning, params (long Step, double Loss)[][] losses) => new()
    {
        Id = "s",
        Name = "m",
        TokenizerId = "t",
        ParametersJson = "{}",
        Pruning = pruning,
        Trials = [.. losses.Select((evaluations, i) => new SweepTrial
        {
            Number = i + 1,
            RunId = $"s-t{i + 1}",
            ModelJson = "{}",
            TrainingJson = "{}",
            MaxSteps = 60,
            State = TrialState.Running,
            Evaluations = [.. evaluations.Select(e => new SweepEvaluation(e.Step, e.Loss))],
        })],
    };

    [Fact]
    public void TheMedianRuleStopsATrialWorseThanTheMedianOfTheOthersAtTheSameStepAfterItsWarmUp()
    {
        var pruning = new SweepPruning { Rule = PruningRule.Median, WarmupEvaluations = 1, MinTrials = 2 };
        var sweep = SweepOf(pruning, [(10, 3.0), (20, 2.5)], [(10, 3.1), (20, 2.7)], [(10, 3.2), (20, 2.6)], [(10, 5.0), (20, 5.0)]);

        Assert.Null(SweepPruner.Judge(sweep, sweep.Trials[3] with { Evaluations = [new(10, 5.0)] }, 10, 5.0)); // still warming up
        Assert.NotNull(SweepPruner.Judge(sweep, sweep.Trials[3], 20, 5.0));
        Assert.Null(SweepPruner.Judge(sweep, sweep.Trials[0], 20, 2.5));
        Assert.Null(SweepPruner.Judge(sweep, sweep.Trials[3], 30, 5.0)); // nobody else has reached step 30
        Assert.Null(SweepPruner.Judge(sweep, sweep.Trials[3], 60, 5.0)); // the last step is never judged
        Assert.NotNull(SweepPruner.Judge(sweep, sweep.Trials[3], 20, double.NaN)); // a diverged trial is the worst
    }

    [Fact]
    public void SuccessiveHalvingKeepsTheBestOneInEtaOfTheTrialsThatReachedARung()
    {
        var pruning = new SweepPruning { Rule = PruningRule.Halving, Rungs = [20], Eta = 2 };
        var sweep = SweepOf(pruning, [(20, 2.0)], [(20, 3.0)], [(20, 4.0)], [(20, 2.5)]);

        Assert.Null(SweepPruner.Judge(sweep, sweep.Trials[0], 20, 2.0));
        Assert.Null(SweepPruner.Judge(sweep, sweep.Trials[3], 20, 2.5)); // second best of four: kept
        Assert.NotNull(SweepPruner.Judge(sweep, sweep.Trials[1], 20, 3.0));
        Assert.Null(SweepPruner.Judge(sweep, sweep.Trials[1], 10, 9.0)); // not a rung
        var first = SweepOf(pruning, [(20, 9.0)]);
        Assert.Null(SweepPruner.Judge(first, first.Trials[0], 20, 9.0)); // the first to arrive has nothing to lose to
    }
}
