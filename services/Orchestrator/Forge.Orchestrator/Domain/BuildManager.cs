using System.Text.Json;
using System.Text.Json.Serialization;
using Forge.Contracts;
using Forge.Recipes;
using MassTransit;
using Microsoft.Extensions.Logging;

namespace Forge.Orchestrator.Domain;

/// <summary>
/// The build process manager: runs a recipe through ingest → clean → seal → tokenizer → tokenize → pretrain →
/// register → evaluate → promote → serve, driven by the services' events. Its state lives in the build document, so
/// after a restart (of any service, itself included) <see cref="ResumeAsync"/> sends the current stage's command
/// again; every handler of those commands is idempotent, so no stage runs twice. A failed stage can be retried
/// without redoing the stages before it.
/// </summary>
public sealed class BuildManager(BuildStore store, ModelRegistry registry, IPublishEndpoint publisher, TimeProvider clock, ILogger<BuildManager> logger)
{
    public static readonly IReadOnlyList<string> StageNames =
        ["ingest", "clean", "seal", "tokenizer", "tokenize", "pretrain", "register", "evaluate", "promote", "serve"];

    /// <summary>How configurations travel in <see cref="PretrainRequested"/>: camelCase, enums as camelCase strings.</summary>
    public static readonly JsonSerializerOptions ConfigJson = new(JsonSerializerDefaults.Web)
    {
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.CamelCase) },
    };

    private const int MaxAttempts = 100;

    public async Task<Build> StartAsync(Recipe recipe, CancellationToken cancellationToken)
    {
        var now = Now();
        var id = $"{recipe.Name}-{Guid.CreateVersion7():N}"[..Math.Min(recipe.Name.Length + 13, 64)];
        // The gates go on the model's family first, so that the registry's automatic promotion applies them.
        var policy = new PromotionPolicy
        {
            Gates = [.. recipe.Gates.Select(g => new MetricGate { EvalSet = g.EvalSet, Metric = g.Metric, Threshold = g.Threshold, Goal = g.Goal is null ? null : Enum.Parse<MetricGoal>(g.Goal, ignoreCase: true) })],
            MustBeatPromoted = recipe.MustBeatPromoted,
        };
        await registry.SetPolicyAsync(recipe.Name, policy, cancellationToken);
        var build = new Build
        {
            Id = id,
            Model = recipe.Name,
            RecipeJson = recipe.ToJson(),
            State = BuildState.Running,
            Stages = [.. StageNames.Select((name, i) => new BuildStage { Name = name, State = i == 0 ? StageState.Running : StageState.Pending, StartedAt = i == 0 ? now : null })],
            CreatedAt = now,
            UpdatedAt = now,
            DatasetId = id,
            TokenizerId = $"{id}-tokenizer",
            RunId = $"{id}-pretrain",
        };
        await store.Builds.TryInsertAsync(build, cancellationToken);
        logger.LogInformation("Build {BuildId} of {Model} started", id, recipe.Name);
        if (recipe.Feedback is { } feedback)
            await publisher.Publish(new FeedbackPolicyRequested(id, recipe.Name, feedback.MinNewFeedback, feedback.MinNewExamples, feedback.RatingBelow, feedback.MinRatings, feedback.Enabled), cancellationToken);
        await DispatchAsync(build, cancellationToken);
        return build;
    }

    /// <summary>
    /// Sends the current stage's command: when the stage starts, on retry, and (<paramref name="resend"/>) on resume.
    /// <paramref name="sameAttempt"/> is for the second command of one attempt (ingestion's files after its cleaning settings).
    /// </summary>
    public async Task DispatchAsync(Build build, CancellationToken cancellationToken, bool resend = false, bool sameAttempt = false)
    {
        if (build.State != BuildState.Running || build.Current is not { State: StageState.Running } stage)
            return;
        // Cleaning follows ingestion by itself, and the build sees each batch cleaned: the seal is asked for when the last
        // one is. Only a resumed build asks while cleaning (its ShardCleaned events may be lost); the cleaning service
        // then seals once every batch is clean.
        if (stage.Name == "clean" && !resend)
            return;
        var recipe = Recipe.FromJson(build.RecipeJson);
        object? command = stage.Name switch
        {
            "ingest" when recipe.CleaningJson is { } settings && !build.CleaningSettingsApplied => new CleaningSettingsRequested(build.Id, build.DatasetId, settings),
            "ingest" => new IngestFilesRequested(build.Id, build.DatasetId, [.. recipe.Sources.Select(s => s.Path)], recipe.Sources.Select(s => s.Separator).FirstOrDefault(s => s is not null)),
            "clean" or "seal" => new SealDatasetRequested(build.Id, build.DatasetId, build.BatchIds, recipe.ValidationFraction),
            "tokenizer" => new TrainTokenizerRequested(build.Id, build.TokenizerId, build.DatasetVersion!, recipe.Tokenizer.Kind, recipe.Tokenizer.VocabularySize,
                recipe.Tokenizer.MinFrequency, recipe.Tokenizer.SpecialTokens),
            "tokenize" => new TokenizeDatasetRequested(build.Id, build.TokenizerId, build.DatasetVersion!),
            "pretrain" => new PretrainRequested(build.Id, build.RunId, build.Model,
                JsonSerializer.Serialize(recipe.Model with { VocabularySize = build.VocabularySize ?? recipe.Model.VocabularySize }, ConfigJson),
                JsonSerializer.Serialize(recipe.Training, ConfigJson), build.TokenizerId, build.DatasetVersion!, build.TrainShards, build.ValidationShards),
            _ => null, // register, evaluate, promote and serve follow from the registry's and the evaluator's own events
        };
        if (command is null)
            return;
        if (!sameAttempt)
            await Mark(build.Id, stage.Name, s => s with { Attempts = s.Attempts + 1 }, cancellationToken);
        await publisher.Publish(command, command.GetType(), cancellationToken);
        logger.LogInformation("Build {BuildId}: stage {Stage} sent {Command}", build.Id, stage.Name, command.GetType().Name);
    }

    /// <summary>Applies <paramref name="change"/> by compare-and-swap; null from it (or a finished build) changes nothing.</summary>
    public async Task<Build?> UpdateAsync(string buildId, Func<Build, Build?> change, CancellationToken cancellationToken)
    {
        for (var attempt = 0; attempt < MaxAttempts; attempt++)
        {
            if (await store.Builds.GetAsync(buildId, cancellationToken) is not { } current)
                return null;
            if (change(current) is not { } next)
                return null;
            var revision = current.Revision;
            next = next with { Revision = revision + 1, UpdatedAt = Now() };
            if (await store.Builds.TryReplaceAsync(next, b => b.Revision == revision, cancellationToken))
                return next;
        }
        throw new InvalidOperationException($"Build {buildId} kept changing under {MaxAttempts} attempts to update it.");
    }

    /// <summary>Records what an event says and, when it finishes the build's current stage, starts the next one.</summary>
    public async Task ApplyAsync(string buildId, Func<Build, Build?> record, CancellationToken cancellationToken)
    {
        var before = await store.Builds.GetAsync(buildId, cancellationToken);
        var updated = await UpdateAsync(buildId, b => b.State == BuildState.Running ? record(b) : null, cancellationToken);
        if (updated is null || before is null)
            return;
        foreach (var stage in updated.Stages)
        {
            var previous = before.Stage(stage.Name);
            if (previous.State != stage.State || previous.Fraction != stage.Fraction)
                await publisher.Publish(new BuildProgressed(buildId, stage.Name, stage.State.ToString(), stage.Detail, stage.Fraction, Now()), CancellationToken.None);
        }
        if (updated.State != before.State)
        {
            await publisher.Publish(new BuildProgressed(buildId, "build", updated.State.ToString(), updated.Failure, null, Now()), CancellationToken.None);
            logger.LogInformation("Build {BuildId} {State}{Failure}", buildId, updated.State, updated.Failure is null ? "" : ": " + updated.Failure);
        }
        if (updated.Current?.Name != before.Current?.Name)
            await DispatchAsync(updated, cancellationToken);
    }

    /// <summary>Marks <paramref name="name"/> completed (with a detail) and starts the next stage; the last one completes the build.</summary>
    public Build Complete(Build build, string name, string? detail = null)
    {
        var stage = build.Stage(name);
        if (stage.State == StageState.Completed)
            return build;
        var now = Now();
        var stages = build.Stages.Select(s => s.Name == name ? s with { State = StageState.Completed, FinishedAt = now, Fraction = 1, Detail = detail ?? s.Detail, StartedAt = s.StartedAt ?? now } : s).ToList();
        var next = stages.FirstOrDefault(s => s.State == StageState.Pending);
        if (next is not null && stages.TakeWhile(s => s.Name != next.Name).All(s => s.State == StageState.Completed))
            stages = [.. stages.Select(s => s.Name == next.Name ? s with { State = StageState.Running, StartedAt = now } : s)];
        var done = stages.All(s => s.State == StageState.Completed);
        return build with { Stages = stages, State = done ? BuildState.Completed : build.State, FinishedAt = done ? now : build.FinishedAt };
    }

    /// <summary>Fails the build at <paramref name="name"/>; <see cref="RetryAsync"/> starts there again.</summary>
    public Build Fail(Build build, string name, string reason)
    {
        var now = Now();
        return build with
        {
            Stages = [.. build.Stages.Select(s => s.Name == name ? s with { State = StageState.Failed, FinishedAt = now, Detail = reason, StartedAt = s.StartedAt ?? now } : s)],
            State = BuildState.Failed,
            Failure = $"{name}: {reason}",
            FinishedAt = now,
        };
    }

    public static Build Progress(Build build, string name, double fraction, string? detail) =>
        build with { Stages = [.. build.Stages.Select(s => s.Name == name && s.State == StageState.Running ? s with { Fraction = Math.Clamp(fraction, 0, 1), Detail = detail ?? s.Detail } : s)] };

    /// <summary>Starts a failed build again at its failed stage; the stages it finished stay finished.</summary>
    public async Task<Build?> RetryAsync(string buildId, CancellationToken cancellationToken)
    {
        var retried = await UpdateAsync(buildId, b =>
        {
            if (b.State != BuildState.Failed || b.Stages.FirstOrDefault(s => s.State == StageState.Failed) is not { } failed)
                return null;
            var attempt = failed.Attempts + 1;
            return b with
            {
                State = BuildState.Running,
                Failure = null,
                FinishedAt = null,
                PromotionRefusals = [],
                // A failed run cannot be resumed under its id: the retry trains a new one.
                RunId = failed.Name == "pretrain" ? $"{b.Id}-pretrain-{attempt}" : b.RunId,
                Stages = [.. b.Stages.Select(s => s.Name == failed.Name ? s with { State = StageState.Running, Detail = "retrying", FinishedAt = null, StartedAt = Now(), Fraction = null } : s)],
            };
        }, cancellationToken);
        if (retried is not null)
        {
            await publisher.Publish(new BuildProgressed(buildId, retried.Current!.Name, "Retrying", null, null, Now()), cancellationToken);
            await DispatchAsync(retried, cancellationToken);
        }
        return retried;
    }

    /// <summary>Cancels a running build: nothing further is sent, and a pretraining run it started is asked to stop.</summary>
    public async Task<Build?> CancelAsync(string buildId, CancellationToken cancellationToken)
    {
        var cancelled = await UpdateAsync(buildId, b => b.State != BuildState.Running ? null : b with
        {
            State = BuildState.Cancelled,
            CancelRequested = true,
            FinishedAt = Now(),
            Stages = [.. b.Stages.Select(s => s.State == StageState.Running ? s with { State = StageState.Failed, Detail = "cancelled", FinishedAt = Now() } : s)],
        }, cancellationToken);
        if (cancelled is not null)
        {
            if (cancelled.Stage("pretrain").Detail == "cancelled")
                await publisher.Publish(new CancelTrainingRunRequested(cancelled.RunId, $"build {buildId} was cancelled"), cancellationToken);
            await publisher.Publish(new BuildProgressed(buildId, "build", nameof(BuildState.Cancelled), null, null, Now()), cancellationToken);
        }
        return cancelled;
    }

    /// <summary>Sends the current command of every running build that has not moved for <paramref name="idleFor"/>.</summary>
    public async Task<int> ResumeAsync(TimeSpan idleFor, CancellationToken cancellationToken)
    {
        var running = await store.Builds.FindAsync(b => b.State == BuildState.Running, cancellationToken: cancellationToken);
        var resumed = 0;
        foreach (var build in running.Where(b => Now() - b.UpdatedAt >= idleFor))
        {
            logger.LogInformation("Build {BuildId}: resuming stage {Stage}", build.Id, build.Current?.Name);
            await DispatchAsync(build, cancellationToken, resend: true);
            resumed++;
        }
        return resumed;
    }

    private Task<Build?> Mark(string buildId, string name, Func<BuildStage, BuildStage> change, CancellationToken cancellationToken) =>
        UpdateAsync(buildId, b => b with { Stages = [.. b.Stages.Select(s => s.Name == name ? change(s) : s)] }, cancellationToken);

    private DateTime Now() => clock.GetUtcNow().UtcDateTime;
}
