using System.Globalization;
using Forge.Contracts;
using Forge.Orchestrator.Domain;
using MassTransit;

namespace Forge.Orchestrator.Consumers;

/// <summary>
/// Feeds the services' events to the builds they belong to: by build id where the event carries one, otherwise by the
/// dataset, tokenizer, run or model version the build created. Events of things no build created are ignored;
/// redelivered ones change nothing (each step records into sets or completes a stage once).
/// </summary>
public sealed class BuildEventsConsumer(BuildStore store, RegistryStore registry, BuildManager builds) :
    IConsumer<CleaningSettingsApplied>, IConsumer<FilesIngested>, IConsumer<ShardCleaned>, IConsumer<DatasetVersionSealed>,
    IConsumer<TokenizerTrained>, IConsumer<DatasetTokenized>, IConsumer<TrainingRunProgressed>, IConsumer<TrainingRunCompleted>,
    IConsumer<TrainingRunFailed>, IConsumer<TrainingRunCancelled>, IConsumer<ModelVersionRegistered>, IConsumer<EvaluationCompleted>,
    IConsumer<ModelPromoted>, IConsumer<PromotionRefused>, IConsumer<BuildStageFailed>
{
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
        return ForBuildsOf(b => b.TokenizerId == m.TokenizerId, b => b.DatasetVersion != m.DatasetVersion || b.TrainShards.Count > 0 ? null : builds.Complete(
            b with { TrainShards = [.. m.TrainShards], ValidationShards = [.. m.ValidationShards], TrainTokens = m.TrainTokens },
            "tokenize", $"{m.TrainTokens:N0} training and {m.ValidationTokens:N0} validation tokens"), context);
    }

    public Task Consume(ConsumeContext<TrainingRunProgressed> context)
    {
        var m = context.Message;
        return ForBuildsOf(b => b.RunId == m.RunId, b => BuildManager.Progress(b, "pretrain", (double)m.Step / Math.Max(1, m.MaxSteps),
            string.Create(CultureInfo.InvariantCulture, $"step {m.Step}/{m.MaxSteps}, loss {m.Loss:F4}, {m.TokensPerSecond:N0} tokens/s, ETA {TimeSpan.FromSeconds(Math.Round(m.EtaSeconds))}")), context);
    }

    public Task Consume(ConsumeContext<TrainingRunCompleted> context)
    {
        var m = context.Message;
        return ForBuildsOf(b => b.RunId == m.RunId, b => b.FinalLoss is not null ? null : builds.Complete(
            b with { FinalLoss = m.FinalLoss, ValidationLoss = m.ValidationLoss },
            "pretrain", string.Create(CultureInfo.InvariantCulture, $"{m.Step} steps, loss {m.FinalLoss:F4}") + (m.ValidationLoss is { } v ? string.Create(CultureInfo.InvariantCulture, $", validation loss {v:F4}") : "")), context);
    }

    public Task Consume(ConsumeContext<TrainingRunFailed> context) =>
        ForBuildsOf(b => b.RunId == context.Message.RunId, b => builds.Fail(b, "pretrain", context.Message.Reason), context);

    public Task Consume(ConsumeContext<TrainingRunCancelled> context) =>
        ForBuildsOf(b => b.RunId == context.Message.RunId, b => builds.Fail(b, "pretrain", $"the run was cancelled at step {context.Message.Step}"), context);

    public Task Consume(ConsumeContext<ModelVersionRegistered> context)
    {
        var m = context.Message;
        return ForBuildsOf(b => b.RunId == m.RunId, b => b.ModelVersionId is not null ? null : Registered(b, m.ModelVersionId), context);
    }

    private Build Registered(Build b, string versionId) => builds.Complete(b with { ModelVersionId = versionId }, "register", versionId);

    /// <summary>
    /// Applies an event about a model version to the build whose run made it. The registry's events may arrive before
    /// ModelVersionRegistered has been seen here, so the version is looked up in the registry by id.
    /// </summary>
    private async Task ForVersionAsync(string versionId, Func<Build, Build?> record, ConsumeContext context)
    {
        if (await registry.Versions.GetAsync(versionId, context.CancellationToken) is not { } version)
            return;
        await ForBuildsOf(b => b.RunId == version.RunId, b =>
        {
            var known = b.ModelVersionId is null ? Registered(b, versionId) : b;
            return known.ModelVersionId == versionId ? record(known) : null;
        }, context);
    }

    public Task Consume(ConsumeContext<EvaluationCompleted> context)
    {
        var m = context.Message;
        return ForVersionAsync(m.ModelVersionId, b =>
        {
            var metrics = new Dictionary<string, double>(b.Metrics);
            foreach (var (name, value) in m.Metrics)
                metrics[$"{m.EvalSet}.{name}"] = value;
            var measured = b with { Metrics = metrics };
            return b.Stage("evaluate").State == StageState.Completed ? measured
                : builds.Complete(measured, "evaluate", string.Join(", ", m.Metrics.Select(x => string.Create(CultureInfo.InvariantCulture, $"{x.Key} {x.Value:G5}"))) + $" on {m.EvalSet}");
        }, context);
    }

    public Task Consume(ConsumeContext<ModelPromoted> context)
    {
        var m = context.Message;
        return ForVersionAsync(m.ModelVersionId, b =>
        {
            if (b.Stage("promote").State == StageState.Completed)
                return null;
            // The registry may promote before this consumer has seen the evaluation: both stages end here then.
            var promoted = builds.Complete(b, "evaluate");
            promoted = builds.Complete(promoted, "promote", m.RetiredVersionId is null ? "promoted" : $"promoted, replacing {m.RetiredVersionId}");
            return builds.Complete(promoted, "serve", $"served as '{m.Model}' (and '{m.ModelVersionId}') by the inference service");
        }, context);
    }

    public Task Consume(ConsumeContext<PromotionRefused> context)
    {
        var m = context.Message;
        return ForVersionAsync(m.ModelVersionId, b =>
        {
            var refused = builds.Complete(b with { PromotionRefusals = [.. m.Reasons] }, "evaluate");
            return builds.Fail(refused, "promote", "refused: " + string.Join("; ", m.Reasons));
        }, context);
    }

    public Task Consume(ConsumeContext<BuildStageFailed> context)
    {
        var m = context.Message;
        return builds.ApplyAsync(m.BuildId, b => b.Stages.Any(s => s.Name == m.Stage) ? builds.Fail(b, m.Stage, m.Reason) : builds.Fail(b, b.Current?.Name ?? m.Stage, m.Reason), context.CancellationToken);
    }

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
