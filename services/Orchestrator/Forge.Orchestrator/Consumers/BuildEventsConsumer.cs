using System.Globalization;
using Forge.Contracts;
using Forge.Orchestrator.Domain;
using Forge.Recipes;
using MassTransit;

namespace Forge.Orchestrator.Consumers;

/// <summary>
/// Feeds the services' events to the builds they belong to: by build id where the event carries one, otherwise by the
/// dataset, tokenizer, run or model version the build created (a run, and the version made of it, are the build's
/// pretraining or its fine-tune). Events of things no build created are ignored; redelivered ones change nothing (each
/// step records into sets or completes a stage once).
/// </summary>
public sealed class BuildEventsConsumer(BuildStore store, RegistryStore registry, BuildManager builds) :
    IConsumer<EvalSetStored>, IConsumer<CleaningSettingsApplied>, IConsumer<FilesIngested>, IConsumer<ShardCleaned>, IConsumer<DatasetVersionSealed>,
    IConsumer<TokenizerTrained>, IConsumer<DatasetTokenized>, IConsumer<TrainingRunProgressed>, IConsumer<TrainingRunCompleted>,
    IConsumer<TrainingRunFailed>, IConsumer<TrainingRunCancelled>, IConsumer<ModelVersionRegistered>, IConsumer<EvaluationCompleted>,
    IConsumer<ModelPromoted>, IConsumer<PromotionRefused>, IConsumer<BuildStageFailed>
{
    public Task Consume(ConsumeContext<EvalSetStored> context)
    {
        var m = context.Message;
        return builds.ApplyAsync(m.BuildId, b =>
        {
            if (b.StoredEvalSets.Contains(m.Name) || !b.Stages.Any(s => s.Name == BuildManager.EvalSetsStage))
                return null;
            var stored = b with { StoredEvalSets = [.. b.StoredEvalSets, m.Name] };
            var names = Recipe.FromJson(b.RecipeJson).EvalSets.Select(s => s.Name).ToList();
            var detail = $"{stored.StoredEvalSets.Count} of {names.Count} eval sets stored; '{m.Name}' has {m.Examples:N0} examples";
            return names.All(stored.StoredEvalSets.Contains)
                ? builds.Complete(stored, BuildManager.EvalSetsStage, detail)
                : BuildManager.Progress(stored, BuildManager.EvalSetsStage, (double)stored.StoredEvalSets.Count / names.Count, detail);
        }, context.CancellationToken);
    }

    public async Task Consume(ConsumeContext<CleaningSettingsApplied> context)
    {
        var message = context.Message;
        var updated = await builds.UpdateAsync(message.BuildId, b => b.CleaningSettingsApplied || b.State != BuildState.Running ? null : b with { CleaningSettingsApplied = true }, context.CancellationToken);
        if (updated is not null)
            await builds.DispatchAsync(updated, context.CancellationToken, sameAttempt: true); // now the files
    }

    public Task Consume(ConsumeContext<FilesIngested> context)
    {
        var m = context.Message;
        return builds.ApplyAsync(m.BuildId, b =>
        {
            if (b.FilesIngested)
                return null;
            var ingested = b with { FilesIngested = true, BatchIds = [.. m.BatchIds], DocumentsIngested = m.Documents, BytesIngested = m.Bytes, SkippedFiles = [.. m.SkippedFiles] };
            ingested = builds.Complete(ingested, "ingest", $"{m.Documents:N0} documents, {m.Bytes:N0} bytes in {m.BatchIds.Count} batches" + (m.SkippedFiles.Count > 0 ? $"; skipped {m.SkippedFiles.Count} files" : ""));
            return CleanedAll(ingested);
        }, context.CancellationToken);
    }

    public async Task Consume(ConsumeContext<ShardCleaned> context)
    {
        var m = context.Message;
        foreach (var build in await store.Builds.FindAsync(b => b.DatasetId == m.DatasetId && b.State == BuildState.Running, cancellationToken: context.CancellationToken))
        {
            await builds.ApplyAsync(build.Id, b =>
            {
                if (b.CleanedBatchIds.Contains(m.BatchId))
                    return null;
                var cleaned = b with { CleanedBatchIds = [.. b.CleanedBatchIds, m.BatchId], DocumentsKept = b.DocumentsKept + m.DocumentsOut };
                if (cleaned.FilesIngested && cleaned.BatchIds.Count > 0)
                    cleaned = BuildManager.Progress(cleaned, "clean", (double)cleaned.CleanedBatchIds.Intersect(cleaned.BatchIds).Count() / cleaned.BatchIds.Count,
                        $"{cleaned.CleanedBatchIds.Count} of {cleaned.BatchIds.Count} batches, {cleaned.DocumentsKept:N0} documents kept");
                return CleanedAll(cleaned);
            }, context.CancellationToken);
        }
    }

    private Build CleanedAll(Build b) =>
        b.FilesIngested && b.Stage("clean").State == StageState.Running && b.BatchIds.All(b.CleanedBatchIds.Contains)
            ? builds.Complete(b, "clean", $"{b.DocumentsKept:N0} of {b.DocumentsIngested:N0} documents kept")
            : b;

    public async Task Consume(ConsumeContext<DatasetVersionSealed> context)
    {
        var m = context.Message;
        foreach (var build in await store.Builds.FindAsync(b => b.DatasetId == m.DatasetId && b.State == BuildState.Running, cancellationToken: context.CancellationToken))
        {
            await builds.ApplyAsync(build.Id, b =>
            {
                if (b.DatasetVersion is not null || !b.FilesIngested)
                    return null;
                var sealedBuild = b with { DatasetVersion = m.VersionId };
                sealedBuild = builds.Complete(sealedBuild, "clean");
                return builds.Complete(sealedBuild, "seal", $"{m.VersionId}: {m.Documents:N0} documents, {m.Bytes:N0} bytes");
            }, context.CancellationToken);
        }
    }

    public Task Consume(ConsumeContext<TokenizerTrained> context) =>
        ForBuildsOf(b => b.TokenizerId == context.Message.TokenizerId, b => b.VocabularySize is not null ? null : builds.Complete(
            b with { VocabularySize = context.Message.VocabularySize, CharactersPerToken = context.Message.CharactersPerToken },
            "tokenizer", string.Create(CultureInfo.InvariantCulture, $"{context.Message.Kind}, {context.Message.VocabularySize} tokens, {context.Message.CharactersPerToken:F2} characters per token")), context);

    public Task Consume(ConsumeContext<DatasetTokenized> context)
    {
        var m = context.Message;
        return ForBuildsOf(b => b.TokenizerId == m.TokenizerId, b => b.DatasetVersion != m.DatasetVersion || b.TrainShards.Count > 0 ? null
            // Every version is measured on its held-out tokens and trained on the rest: an empty side would stall the build later.
            : EmptySplit(m) is { } empty ? (b.State == BuildState.Running ? builds.Fail(b, "tokenize", empty) : null)
            : builds.Complete(
                b with { TrainShards = [.. m.TrainShards], ValidationShards = [.. m.ValidationShards], TrainTokens = m.TrainTokens },
                "tokenize", $"{m.TrainTokens:N0} training and {m.ValidationTokens:N0} validation tokens"), context);
    }

    private static string? EmptySplit(DatasetTokenized m) =>
        (m.TrainTokens, m.ValidationTokens) switch
        {
            (0, _) or (_, 0) => $"the {(m.TrainTokens == 0 ? "training" : "validation")} split of {m.DatasetVersion} is empty " +
                $"({m.TrainTokens:N0} training and {m.ValidationTokens:N0} validation tokens): documents are split whole, by their hash, " +
                "so a dataset of few documents can leave one side empty; add documents (plain text becomes one document per 16 KiB) " +
                "or change data.validationFraction",
            _ => null,
        };

    public Task Consume(ConsumeContext<TrainingRunProgressed> context)
    {
        var m = context.Message;
        return ForRunAsync(m.RunId, (b, stages) => BuildManager.Progress(b, stages.Train, (double)m.Step / Math.Max(1, m.MaxSteps),
            string.Create(CultureInfo.InvariantCulture, $"step {m.Step}/{m.MaxSteps}, loss {m.Loss:F4}, {m.TokensPerSecond:N0} tokens/s, ETA {TimeSpan.FromSeconds(Math.Round(m.EtaSeconds))}")), context);
    }

    public Task Consume(ConsumeContext<TrainingRunCompleted> context)
    {
        var m = context.Message;
        return ForRunAsync(m.RunId, (b, stages) => b.Trained(stages).FinalLoss is not null ? null : builds.Complete(
            b.With(stages, b.Trained(stages) with { FinalLoss = m.FinalLoss, ValidationLoss = m.ValidationLoss }),
            stages.Train, string.Create(CultureInfo.InvariantCulture, $"{m.Step} steps, loss {m.FinalLoss:F4}") + (m.ValidationLoss is { } v ? string.Create(CultureInfo.InvariantCulture, $", validation loss {v:F4}") : "")), context);
    }

    public Task Consume(ConsumeContext<TrainingRunFailed> context) =>
        ForRunAsync(context.Message.RunId, (b, stages) => builds.Fail(b, stages.Train, context.Message.Reason), context);

    public Task Consume(ConsumeContext<TrainingRunCancelled> context) =>
        ForRunAsync(context.Message.RunId, (b, stages) => builds.Fail(b, stages.Train, $"the run was cancelled at step {context.Message.Step}"), context);

    public Task Consume(ConsumeContext<ModelVersionRegistered> context)
    {
        var m = context.Message;
        return ForRunAsync(m.RunId, (b, stages) => Changed(b, builds.Registered(b, stages, m.ModelVersionId)), context);
    }

    /// <summary>
    /// Applies an event about a model version to the build whose run made it. The registry's events may arrive before
    /// ModelVersionRegistered has been seen here, so the version is looked up in the registry by id.
    /// </summary>
    private async Task ForVersionAsync(string versionId, Func<Build, TrainingStages, Build?> record, ConsumeContext context)
    {
        if (await registry.Versions.GetAsync(versionId, context.CancellationToken) is not { } version)
            return;
        await ForRunAsync(version.RunId, (b, stages) =>
        {
            var known = builds.Registered(b, stages, versionId);
            return known.Trained(stages).ModelVersionId == versionId && record(known, stages) is { } recorded ? Changed(b, recorded) : null;
        }, context);
    }

    public Task Consume(ConsumeContext<EvaluationCompleted> context)
    {
        var m = context.Message;
        return ForVersionAsync(m.ModelVersionId, (b, stages) => builds.Measured(b, stages, m.EvalSet, m.Metrics, Recipe.FromJson(b.RecipeJson)), context);
    }

    public Task Consume(ConsumeContext<ModelPromoted> context)
    {
        var m = context.Message;
        return ForVersionAsync(m.ModelVersionId, (b, stages) => builds.Promoted(b, stages, m.ModelVersionId, m.RetiredVersionId), context);
    }

    public Task Consume(ConsumeContext<PromotionRefused> context)
    {
        var m = context.Message;
        return ForVersionAsync(m.ModelVersionId, (b, stages) => builds.Refused(b, stages, m.Reasons), context);
    }

    public Task Consume(ConsumeContext<BuildStageFailed> context)
    {
        var m = context.Message;
        return builds.ApplyAsync(m.BuildId, b => b.Stages.Any(s => s.Name == m.Stage) ? builds.Fail(b, m.Stage, m.Reason) : builds.Fail(b, b.Current?.Name ?? m.Stage, m.Reason), context.CancellationToken);
    }

    /// <summary>Applies an event about a run to the build that started it, as its pretraining or its fine-tune.</summary>
    private Task ForRunAsync(string runId, Func<Build, TrainingStages, Build?> record, ConsumeContext context) =>
        ForBuildsOf(b => b.RunId == runId || b.FineTune!.RunId == runId,
            b => record(b, b.RunId == runId ? TrainingStages.Pretraining : TrainingStages.FineTuning), context);

    /// <summary>Null when <paramref name="after"/> is <paramref name="before"/>: nothing to write.</summary>
    private static Build? Changed(Build before, Build after) => ReferenceEquals(before, after) ? null : after;

    private async Task ForBuildsOf(System.Linq.Expressions.Expression<Func<Build, bool>> filter, Func<Build, Build?> record, ConsumeContext context)
    {
        foreach (var build in await store.Builds.FindAsync(filter, cancellationToken: context.CancellationToken))
            await builds.ApplyAsync(build.Id, record, context.CancellationToken);
    }
}

/// <summary>Build events retry on store contention, as the registry's consumers do.</summary>
public sealed class BuildEventsConsumerDefinition : ConsumerDefinition<BuildEventsConsumer>
{
    protected override void ConfigureConsumer(IReceiveEndpointConfigurator endpointConfigurator, IConsumerConfigurator<BuildEventsConsumer> consumerConfigurator, IRegistrationContext context)
    {
        endpointConfigurator.UseMessageRetry(retry => retry.Exponential(5, TimeSpan.FromMilliseconds(200), TimeSpan.FromSeconds(10), TimeSpan.FromMilliseconds(200)));
    }
}
