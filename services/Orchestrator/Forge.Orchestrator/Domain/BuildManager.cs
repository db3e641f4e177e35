using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using Forge.Contracts;
using Forge.Recipes;
using Forge.Storage.Artifacts;
using Forge.Storage.Metadata;
using MassTransit;
using Microsoft.Extensions.Logging;

namespace Forge.Orchestrator.Domain;

/// <summary>
/// The build process manager: runs a recipe through ingest → clean → seal → tokenizer → tokenize → pretrain →
/// register → evaluate → promote → serve, driven by the services' events. A recipe with task eval sets has them stored
/// by the evaluator first (stage "evalsets"), and every version it trains is scored on them as well as on the held-out
/// shards; a recipe with fine-tuning fine-tunes the promoted pretrained version, then registers, evaluates and promotes
/// the fine-tune (stages "finetune" to "finetune-promote") before "serve". Its state lives in the build document, so
/// after a restart (of any service, itself included) <see cref="ResumeAsync"/> sends the current stage's command
/// again; every handler of those commands is idempotent, so no stage runs twice. A failed stage can be retried
/// without redoing the stages before it.
/// </summary>
public sealed class BuildManager(
    BuildStore store, ModelRegistry registry, RegistryStore versions, IArtifactStore artifacts, IPublishEndpoint publisher, TimeProvider clock, ILogger<BuildManager> logger)
{
    public const string EvalSetsStage = "evalsets";
    public const string ServeStage = "serve";

    /// <summary>The evaluator's name for a version's held-out shards.</summary>
    public const string HeldOutEvalSet = "validation";

    /// <summary>The longest answer a version may give to a task eval set's prompt.</summary>
    public const int TaskMaxNewTokens = 64;

    private static readonly string[] DataStages = ["ingest", "clean", "seal", "tokenizer", "tokenize"];

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
            Stages = [.. StageNamesOf(recipe).Select((name, i) => new BuildStage { Name = name, State = i == 0 ? StageState.Running : StageState.Pending, StartedAt = i == 0 ? now : null })],
            CreatedAt = now,
            UpdatedAt = now,
            DatasetId = id,
            TokenizerId = $"{id}-tokenizer",
            RunId = $"{id}-pretrain",
            FineTune = recipe.FineTuning is null ? null : new TrainedVersion { RunId = $"{id}-finetune" },
        };
        await store.Builds.TryInsertAsync(build, cancellationToken);
        logger.LogInformation("Build {BuildId} of {Model} started", id, recipe.Name);
        if (recipe.Feedback is { } feedback)
            await publisher.Publish(new FeedbackPolicyRequested(id, recipe.Name, feedback.MinNewFeedback, feedback.MinNewExamples, feedback.RatingBelow, feedback.MinRatings, feedback.Enabled), cancellationToken);
        await DispatchAsync(build, cancellationToken);
        return build;
    }

    /// <summary>
    /// The stages of a build of <paramref name="recipe"/>. Task eval sets are stored first, so that a bad one fails the
    /// build before anything trains; a fine-tune's stages follow the pretrained version's promotion.
    /// </summary>
    public static IReadOnlyList<string> StageNamesOf(Recipe recipe)
    {
        var names = new List<string>();
        if (recipe.EvalSets.Count > 0)
            names.Add(EvalSetsStage);
        names.AddRange(DataStages);
        names.AddRange(Names(TrainingStages.Pretraining));
        if (recipe.FineTuning is not null)
            names.AddRange(Names(TrainingStages.FineTuning));
        names.Add(ServeStage);
        return names;
    }

    private static string[] Names(TrainingStages stages) => [stages.Train, stages.Register, stages.Evaluate, stages.Promote];

    /// <summary>The training stages <paramref name="stage"/> belongs to, or null for the others.</summary>
    private static TrainingStages? TrainingStagesOf(string stage) =>
        Names(TrainingStages.Pretraining).Contains(stage) ? TrainingStages.Pretraining
        : Names(TrainingStages.FineTuning).Contains(stage) ? TrainingStages.FineTuning
        : null;

    /// <summary>
    /// Sends the current stage's command: when the stage starts, on retry, and (<paramref name="resend"/>) on resume.
    /// <paramref name="sameAttempt"/> is for the second command of one attempt (ingestion's files after its cleaning settings).
    /// A stage of a trained version first catches up with what the registry already knows of it (its registration,
    /// metrics and promotion), since the trainer does not announce a finished fine-tune again and the registry's
    /// events are not sent again either.
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
        var stages = TrainingStagesOf(stage.Name);
        if (stages is not null && await CatchUpAsync(build, stages, recipe, cancellationToken) is { } caughtUp)
        {
            if (caughtUp.State != BuildState.Running || caughtUp.Current is not { State: StageState.Running } current || current.Name != stage.Name)
                return; // the stage is over, and ApplyAsync dispatched what follows
            build = caughtUp;
        }
        if (stages is not null && stage.Name == stages.Promote)
        {
            await PromoteAsync(build, stages, cancellationToken);
            return;
        }
        IReadOnlyList<object> commands;
        try
        {
            commands = await CommandsAsync(build, stage.Name, recipe, cancellationToken);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // A recipe's file that cannot be read now (moved, deleted) fails its stage; a retry reads it again.
            await ApplyAsync(build.Id, b => b.Current?.Name == stage.Name ? Fail(b, stage.Name, e.Message) : null, cancellationToken);
            return;
        }
        if (commands.Count == 0)
            return;
        if (!sameAttempt)
            await Mark(build.Id, stage.Name, s => s with { Attempts = s.Attempts + 1 }, cancellationToken);
        foreach (var command in commands)
        {
            await publisher.Publish(command, command.GetType(), cancellationToken);
            logger.LogInformation("Build {BuildId}: stage {Stage} sent {Command}", build.Id, stage.Name, command.GetType().Name);
        }
    }

    private async Task<IReadOnlyList<object>> CommandsAsync(Build build, string stage, Recipe recipe, CancellationToken cancellationToken)
    {
        if (stage == EvalSetsStage)
            return await StoreEvalSetsAsync(build, recipe, cancellationToken);
        if (stage == TrainingStages.Pretraining.Evaluate)
            return await EvaluationsAsync(build, TrainingStages.Pretraining, recipe, cancellationToken);
        if (stage == TrainingStages.FineTuning.Train)
            return await FineTuneAsync(build, recipe, cancellationToken);
        if (stage == TrainingStages.FineTuning.Evaluate)
            return await EvaluationsAsync(build, TrainingStages.FineTuning, recipe, cancellationToken);
        object? command = stage switch
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
            _ => null, // register and serve follow from the registry's events
        };
        return command is null ? [] : [command];
    }

    /// <summary>Copies each eval set the evaluator has not stored yet into the artifact store (where the evaluator reads it) and asks for it to be stored.</summary>
    private async Task<IReadOnlyList<object>> StoreEvalSetsAsync(Build build, Recipe recipe, CancellationToken cancellationToken)
    {
        var commands = new List<object>();
        foreach (var evalSet in recipe.EvalSets.Where(s => !build.StoredEvalSets.Contains(s.Name)))
        {
            var key = $"builds/{build.Id}/evalsets/{evalSet.Name}.jsonl";
            await artifacts.PutBytesAsync(key, await File.ReadAllBytesAsync(evalSet.Path, cancellationToken), cancellationToken);
            commands.Add(new StoreEvalSetRequested(build.Id, EvalSetsStage, evalSet.Name, key));
        }
        return commands;
    }

    /// <summary>Asks for the trained version to be scored on each task eval set it has not been measured on (the held-out shards the evaluator measures by itself).</summary>
    private async Task<IReadOnlyList<object>> EvaluationsAsync(Build build, TrainingStages stages, Recipe recipe, CancellationToken cancellationToken)
    {
        var trained = build.Trained(stages);
        if (trained.ModelVersionId is not { } versionId || await versions.Versions.GetAsync(versionId, cancellationToken) is not { } version)
            return [];
        return [.. recipe.EvalSets.Where(s => !trained.EvaluatedSets.Contains(s.Name)).Select(s =>
            new EvaluateVersionRequested(build.Id, stages.Evaluate, version.Id, version.CheckpointKey, version.TokenizerId, s.Name, TaskMaxNewTokens))];
    }

    /// <summary>
    /// Uploads the recipe's examples and asks for a fine-tune of the promoted pretrained version: its checkpoint and
    /// tokenizer, a replay of its training shards, its held-out shards for evaluation. The run is named after the model,
    /// so the registry makes it the model's next version, with the pretrained one as its base.
    /// </summary>
    private async Task<IReadOnlyList<object>> FineTuneAsync(Build build, Recipe recipe, CancellationToken cancellationToken)
    {
        if (recipe.FineTuning is not { } settings || build.FineTune?.BaseVersionId is not { } baseId || await versions.Versions.GetAsync(baseId, cancellationToken) is not { } baseVersion)
            return [];
        var key = $"builds/{build.Id}/sft.jsonl";
        await artifacts.PutBytesAsync(key, await File.ReadAllBytesAsync(settings.Data, cancellationToken), cancellationToken);
        return [new FineTuneRequested(build.FineTune.RunId, build.Model, baseVersion.Id, baseVersion.CheckpointKey, baseVersion.TokenizerId, key,
            baseVersion.TrainShards, baseVersion.ValidationShards, baseVersion.DatasetVersions,
            new FineTuneSettings(settings.MaxSteps, settings.LearningRate, settings.BatchSize, settings.ReplayFraction), RetrainingId: null)];
    }

    /// <summary>
    /// Asks the registry to promote the trained version through its family's gates. It usually has already (it tries
    /// whenever metrics are recorded); asking again is what carries on a retried promote stage after the policy changed.
    /// Promotion and refusal come back as the registry's events.
    /// </summary>
    private async Task PromoteAsync(Build build, TrainingStages stages, CancellationToken cancellationToken)
    {
        if (build.Trained(stages).ModelVersionId is not { } versionId)
            return;
        await Mark(build.Id, stages.Promote, s => s with { Attempts = s.Attempts + 1 }, cancellationToken);
        var outcome = await registry.PromoteAsync(versionId, ModelRegistry.RegistryActor, $"gated promotion for build {build.Id}", cancellationToken);
        logger.LogInformation("Build {BuildId}: promotion of {ModelVersionId}: {Result}", build.Id, versionId, outcome?.Result);
    }

    /// <summary>Applies what the registry knows of the trained version that the build has not seen; null when there is nothing new.</summary>
    private async Task<Build?> CatchUpAsync(Build build, TrainingStages stages, Recipe recipe, CancellationToken cancellationToken)
    {
        var trained = build.Trained(stages);
        var version = trained.ModelVersionId is { } id
            ? await versions.Versions.GetAsync(id, cancellationToken)
            : await versions.Versions.FindOneAsync(v => v.Model == build.Model && v.RunId == trained.RunId, cancellationToken);
        if (version is null)
            return null;
        return await ApplyAsync(build.Id, b =>
        {
            var known = Registered(b, stages, version.Id);
            if (known.Trained(stages).ModelVersionId != version.Id)
                return null;
            // A registered version's run is over, whether or not its completion reached the build.
            known = Complete(known, stages.Train, known.Stage(stages.Train).State == StageState.Completed ? null : $"registered as {version.Id}");
            foreach (var measured in version.Metrics)
                known = Measured(known, stages, measured.EvalSet, measured.Values, recipe);
            if (version.History.Any(h => h.To == ModelState.Promoted))
                known = Promoted(known, stages, version.Id, null);
            return ReferenceEquals(known, b) ? null : known;
        }, cancellationToken);
    }

    /// <summary>The eval sets a trained version must be measured on: the held-out shards (when the data has some) and every task set.</summary>
    private static List<string> EvalSetsOf(Build build, Recipe recipe) =>
        [.. build.ValidationShards.Count > 0 ? [HeldOutEvalSet] : Array.Empty<string>(), .. recipe.EvalSets.Select(s => s.Name)];

    /// <summary>The trained version is <paramref name="versionId"/>: its register stage is done. Unchanged when the build knows it.</summary>
    public Build Registered(Build build, TrainingStages stages, string versionId)
    {
        var trained = build.Trained(stages);
        return trained.ModelVersionId is not null ? build : Complete(build.With(stages, trained with { ModelVersionId = versionId }), stages.Register, versionId);
    }

    /// <summary>
    /// Records the trained version's metrics on one eval set; the evaluate stage ends when every set is measured.
    /// Unchanged when these very metrics are recorded already.
    /// </summary>
    public Build Measured(Build build, TrainingStages stages, string evalSet, IReadOnlyDictionary<string, double> values, Recipe recipe)
    {
        var trained = build.Trained(stages);
        if (trained.EvaluatedSets.Contains(evalSet) && values.All(v => trained.Metrics.TryGetValue($"{evalSet}.{v.Key}", out var known) && known.Equals(v.Value)))
            return build;
        var metrics = new Dictionary<string, double>(trained.Metrics);
        foreach (var (name, value) in values)
            metrics[$"{evalSet}.{name}"] = value;
        trained = trained with { Metrics = metrics, EvaluatedSets = trained.EvaluatedSets.Contains(evalSet) ? trained.EvaluatedSets : [.. trained.EvaluatedSets, evalSet] };
        var measured = build.With(stages, trained);
        if (measured.Stage(stages.Evaluate).State == StageState.Completed)
            return measured;
        var expected = EvalSetsOf(build, recipe);
        var missing = expected.Where(s => !trained.EvaluatedSets.Contains(s)).ToList();
        var detail = string.Join("; ", trained.EvaluatedSets.Select(set => $"{set}: " + string.Join(", ", metrics
            .Where(m => m.Key.StartsWith(set + ".", StringComparison.Ordinal) && !m.Key[(set.Length + 1)..].Contains('.', StringComparison.Ordinal))
            .Select(m => string.Create(CultureInfo.InvariantCulture, $"{m.Key[(set.Length + 1)..]} {m.Value:G5}")))));
        return missing.Count == 0
            ? Complete(measured, stages.Evaluate, detail)
            : Progress(measured, stages.Evaluate, (double)(expected.Count - missing.Count) / expected.Count, $"{detail}; waiting for {string.Join(", ", missing)}");
    }

    /// <summary>
    /// The trained version is promoted: its evaluate and promote stages are done (the registry may promote before the
    /// build has seen every evaluation). The last trained version is the build's model and is served, which ends the
    /// build; a promoted pretrained version is the base of the fine-tune that follows. Unchanged when already recorded.
    /// </summary>
    public Build Promoted(Build build, TrainingStages stages, string versionId, string? retiredVersionId)
    {
        if (build.Stage(stages.Promote).State == StageState.Completed)
            return build;
        var promoted = Complete(build, stages.Evaluate);
        var last = stages == TrainingStages.FineTuning || build.FineTune is null;
        if (!last)
            promoted = promoted with { FineTune = promoted.FineTune! with { BaseVersionId = versionId } };
        promoted = Complete(promoted with { ModelVersionId = last ? versionId : promoted.ModelVersionId }, stages.Promote,
            retiredVersionId is null ? "promoted" : $"promoted, replacing {retiredVersionId}");
        return last ? Complete(promoted, ServeStage, $"served as '{build.Model}' (and '{versionId}') by the inference service") : promoted;
    }

    /// <summary>
    /// The registry refused to promote the trained version: the promote stage fails with the reasons. A refusal only
    /// because gated metrics are not measured yet changes nothing: the registry tries again as each evaluation arrives,
    /// so it is expected while the version's other evaluations are on their way.
    /// </summary>
    public Build? Refused(Build build, TrainingStages stages, IReadOnlyList<string> reasons)
    {
        if (build.Stage(stages.Promote).State == StageState.Completed || reasons.All(r => r.EndsWith(NotMeasured, StringComparison.Ordinal)))
            return null;
        var refused = Complete(build with { PromotionRefusals = [.. reasons] }, stages.Evaluate);
        return Fail(refused, stages.Promote, "refused: " + string.Join("; ", reasons));
    }

    /// <summary>How <see cref="PromotionPolicy.Check"/> ends the reason for a gate whose metric is not recorded on the version yet.</summary>
    private const string NotMeasured = " has not been measured";

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

    /// <summary>
    /// Records what an event says and, when it finishes the build's current stage, starts the next one. Returns the
    /// build as recorded, or null when nothing changed.
    /// </summary>
    public async Task<Build?> ApplyAsync(string buildId, Func<Build, Build?> record, CancellationToken cancellationToken)
    {
        var before = await store.Builds.GetAsync(buildId, cancellationToken);
        var updated = await UpdateAsync(buildId, b => b.State == BuildState.Running ? record(b) : null, cancellationToken);
        if (updated is null || before is null)
            return updated;
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
        return updated;
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
                RunId = failed.Name == TrainingStages.Pretraining.Train ? $"{b.Id}-pretrain-{attempt}" : b.RunId,
                FineTune = failed.Name == TrainingStages.FineTuning.Train ? b.FineTune! with { RunId = $"{b.Id}-finetune-{attempt}" } : b.FineTune,
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

    /// <summary>Cancels a running build: nothing further is sent, and a pretraining or fine-tuning run it started is asked to stop.</summary>
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
            foreach (var stages in new[] { TrainingStages.Pretraining, TrainingStages.FineTuning }.Where(t => cancelled.Stages.Any(s => s.Name == t.Train && s.Detail == "cancelled")))
                await publisher.Publish(new CancelTrainingRunRequested(cancelled.Trained(stages).RunId, $"build {buildId} was cancelled"), cancellationToken);
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
