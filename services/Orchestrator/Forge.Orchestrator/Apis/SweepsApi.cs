using System.Text.Json;
using Forge.Model;
using Forge.Orchestrator.Domain;
using Forge.ServiceDefaults;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;

namespace Forge.Orchestrator.Apis;

/// <summary>
/// A sweep as submitted. Parameters maps a setting's path (<c>model.width</c>, <c>training.learningRate</c>) to a list
/// of values, or for random search also to a range <c>{"min": 1e-4, "max": 1e-2, "log": true}</c>.
/// </summary>
public sealed record SweepRequest
{
    /// <summary>The model the best trial is registered as.</summary>
    public string? Name { get; init; }
    public string? TokenizerId { get; init; }
    public string? DatasetVersion { get; init; }
    public List<string>? TrainShards { get; init; }
    public List<string>? ValidationShards { get; init; }
    public GptConfig? Model { get; init; }
    public TrainingConfig? Training { get; init; }
    public JsonElement? Parameters { get; init; }
    /// <summary>"grid" (the default) or "random".</summary>
    public string? Strategy { get; init; }
    /// <summary>Random search only: how many trials to draw.</summary>
    public int? Trials { get; init; }
    public int? Seed { get; init; }
    public SweepPruningRequest? Pruning { get; init; }
    public int? MaxConcurrent { get; init; }
}

/// <summary>"none" (the default); "median" with warmupEvaluations and minTrials; "halving" with rungs and eta.</summary>
public sealed record SweepPruningRequest
{
    public string? Rule { get; init; }
    public int? WarmupEvaluations { get; init; }
    public int? MinTrials { get; init; }
    public List<long>? Rungs { get; init; }
    public int? Eta { get; init; }
}

/// <summary>A row of a sweep's results table.</summary>
public sealed record SweepTrialView(
    int Number,
    string RunId,
    IReadOnlyDictionary<string, JsonElement> Settings,
    TrialState State,
    long Steps,
    long MaxSteps,
    double? LastValidationLoss,
    double? BestValidationLoss,
    double? FinalValidationLoss,
    double? TrainingLoss,
    double TokensPerSecond,
    IReadOnlyList<SweepEvaluation> Evaluations,
    string? Detail,
    DateTime? StartedAt,
    DateTime? FinishedAt)
{
    public static SweepTrialView Of(SweepTrial t) => new(
        t.Number, t.RunId, t.Settings.ToDictionary(s => s.Path, s => JsonSerializer.Deserialize<JsonElement>(s.Value), StringComparer.Ordinal),
        t.State, t.Step, t.MaxSteps, Finite(t.LastValidationLoss), Finite(t.BestValidationLoss), Finite(t.FinalValidationLoss), Finite(t.TrainingLoss),
        t.TokensPerSecond, [.. t.Evaluations.Where(e => double.IsFinite(e.Loss))], t.Detail, t.StartedAt, t.FinishedAt);

    // JSON has no NaN: a diverged trial's loss shows as null.
    private static double? Finite(double? value) => value is { } v && double.IsFinite(v) ? v : null;
}

public sealed record SweepView(
    string Id,
    string Name,
    SweepState State,
    SweepStrategy Strategy,
    int Seed,
    JsonElement Parameters,
    SweepPruning Pruning,
    int? MaxConcurrent,
    string TokenizerId,
    string? DatasetVersion,
    IReadOnlyList<string> TrainShards,
    IReadOnlyList<string> ValidationShards,
    IReadOnlyDictionary<TrialState, int> TrialStates,
    int? BestTrial,
    string? BestRunId,
    string? ModelVersionId,
    string? Failure,
    DateTime CreatedAt,
    DateTime UpdatedAt,
    DateTime? FinishedAt,
    IReadOnlyList<SweepTrialView> Trials)
{
    public static SweepView Of(Sweep s) => new(
        s.Id, s.Name, s.State, s.Strategy, s.Seed, JsonSerializer.Deserialize<JsonElement>(s.ParametersJson), s.Pruning, s.MaxConcurrent,
        s.TokenizerId, s.DatasetVersion, s.TrainShards, s.ValidationShards,
        s.Trials.GroupBy(t => t.State).ToDictionary(g => g.Key, g => g.Count()),
        s.BestTrial, s.BestTrial is { } best ? s.Trials.Find(t => t.Number == best)?.RunId : null, s.ModelVersionId, s.Failure,
        s.CreatedAt, s.UpdatedAt, s.FinishedAt, [.. s.Trials.Select(SweepTrialView.Of)]);
}

/// <summary>Hyperparameter sweeps: many pretraining runs over a grid or random draws, weak ones stopped early, the best registered.</summary>
public static class SweepsApi
{
    public static RouteGroupBuilder MapSweepsApi(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/api/orchestrator/sweeps").WithTags("Sweeps");
        group.MapPost("/", StartAsync).WithName("StartSweep")
            .WithSummary("Checks every trial's configuration and starts the sweep; a bad one gets 422 naming the field (parameters.model.heads) and nothing runs");
        group.MapGet("/", async (SweepStore store, CancellationToken cancellationToken) =>
                TypedResults.Ok((await store.Sweeps.FindAsync(_ => true, new() { SortBy = s => s.CreatedAt, Descending = true, Limit = 100 }, cancellationToken)).Select(SweepView.Of).ToList()))
            .WithName("ListSweeps").WithSummary("Sweeps, newest first");
        group.MapGet("/{sweepId}", async Task<Results<Ok<SweepView>, ProblemHttpResult>> (string sweepId, SweepStore store, CancellationToken cancellationToken) =>
                await store.Sweeps.GetAsync(sweepId, cancellationToken) is { } sweep ? TypedResults.Ok(SweepView.Of(sweep)) : Problems.NotFound("sweep", sweepId))
            .WithName("GetSweep").WithSummary("A sweep's results table: each trial's settings, state, steps, validation losses and speed; the best trial and its model version");
        group.MapPost("/{sweepId}/cancel", async Task<Results<Accepted<SweepView>, ProblemHttpResult>> (string sweepId, SweepStore store, SweepManager sweeps, CancellationToken cancellationToken) =>
            {
                if (await store.Sweeps.GetAsync(sweepId, cancellationToken) is not { } sweep)
                    return Problems.NotFound("sweep", sweepId);
                return await sweeps.CancelAsync(sweepId, cancellationToken) is { } cancelled
                    ? TypedResults.Accepted($"/api/orchestrator/sweeps/{sweepId}", SweepView.Of(cancelled))
                    : Problems.Conflict($"Sweep {sweepId} is {sweep.State}; only a running sweep can be cancelled.");
            })
            .WithName("CancelSweep").WithSummary("Stops a running sweep: no further trial starts and the running ones are stopped");
        return group;
    }

    private static async Task<Results<Accepted<SweepView>, ProblemHttpResult>> StartAsync(HttpRequest request, SweepManager sweeps, CancellationToken cancellationToken)
    {
        var (body, problem) = await JsonBody.ReadAsync<SweepRequest>(request, cancellationToken);
        if (problem is not null)
            return problem;
        var (sweep, definition, problems) = Read(body!);
        if (problems.Count == 0)
        {
            var (trials, planProblems) = SweepPlanner.Plan(definition!);
            if (planProblems.Count == 0)
            {
                var started = await sweeps.StartAsync(sweep!, trials, cancellationToken);
                return TypedResults.Accepted($"/api/orchestrator/sweeps/{started.Id}", SweepView.Of(started));
            }
            problems = [.. planProblems];
        }
        return TypedResults.Problem(
            title: "Invalid sweep",
            detail: string.Join("; ", problems.Select(p => $"{p.Field}: {p.Message}")),
            statusCode: StatusCodes.Status422UnprocessableEntity,
            extensions: new Dictionary<string, object?> { ["errors"] = problems.GroupBy(p => p.Field).ToDictionary(g => g.Key, g => g.Select(p => p.Message).ToArray()) });
    }

    /// <summary>Checks what the planner does not: names, data, and which strategy and pruning rule.</summary>
    private static (NewSweep? Sweep, SweepDefinition? Definition, List<SweepProblem> Problems) Read(SweepRequest body)
    {
        var problems = new List<SweepProblem>();
        void Require(bool ok, string field, string message)
        {
            if (!ok)
                problems.Add(new(field, message));
        }

        Require(body.Name is { } name && ModelsApi.ModelNamePattern().IsMatch(name), "name", "the model the best trial is registered as. " + ModelsApi.ModelNameRule);
        Require(!string.IsNullOrWhiteSpace(body.TokenizerId), "tokenizerId", "is required: the tokenizer of the shards");
        Require(body.TrainShards is { Count: > 0 }, "trainShards", "name at least one token shard to train on");
        Require(body.ValidationShards is { Count: > 0 }, "validationShards", "name at least one held-out token shard: trials are compared on their validation loss");
        Require(body.Model is not null, "model", "is required: the model settings every trial starts from");
        Require(body.Training is not null, "training", "is required: the training settings every trial starts from (with evaluationInterval > 0)");
        Require(body.MaxConcurrent is null or > 0, "maxConcurrent", "must be at least 1 (leave it out to queue every trial at once)");
        var strategy = Enum.TryParse<SweepStrategy>(body.Strategy ?? "grid", ignoreCase: true, out var s) && Enum.IsDefined(s) ? s : (SweepStrategy?)null;
        Require(strategy is not null, "strategy", "use grid or random");
        var pruning = ReadPruning(body.Pruning, problems);
        if (problems.Count > 0)
            return (null, null, problems);
        var sweep = new NewSweep(body.Name!, body.TokenizerId!, body.DatasetVersion, body.TrainShards!, body.ValidationShards!, strategy!.Value, body.Seed ?? 0,
            body.Parameters?.GetRawText() ?? "{}", pruning, body.MaxConcurrent);
        return (sweep, new SweepDefinition(body.Model!, body.Training!, body.Parameters, strategy.Value, body.Trials, sweep.Seed, pruning), problems);
    }

    private static SweepPruning ReadPruning(SweepPruningRequest? request, List<SweepProblem> problems)
    {
        if (request is null)
            return new SweepPruning();
        if (!Enum.TryParse<PruningRule>(request.Rule ?? "none", ignoreCase: true, out var rule) || !Enum.IsDefined(rule))
        {
            problems.Add(new("pruning.rule", "use none, median or halving"));
            return new SweepPruning();
        }
        void Only(bool given, PruningRule applies, string field)
        {
            if (given && rule != applies)
                problems.Add(new($"pruning.{field}", $"applies to the {applies.ToString().ToLowerInvariant()} rule, not {rule.ToString().ToLowerInvariant()}"));
        }

        Only(request.WarmupEvaluations is not null, PruningRule.Median, "warmupEvaluations");
        Only(request.MinTrials is not null, PruningRule.Median, "minTrials");
        Only(request.Rungs is not null, PruningRule.Halving, "rungs");
        Only(request.Eta is not null, PruningRule.Halving, "eta");
        var defaults = new SweepPruning();
        return new SweepPruning
        {
            Rule = rule,
            WarmupEvaluations = request.WarmupEvaluations ?? defaults.WarmupEvaluations,
            MinTrials = request.MinTrials ?? defaults.MinTrials,
            Rungs = request.Rungs ?? [],
            Eta = request.Eta ?? defaults.Eta,
        };
    }
}
