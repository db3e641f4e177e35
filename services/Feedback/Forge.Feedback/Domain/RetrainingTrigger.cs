using Forge.Contracts;
using Forge.ServiceDefaults;
using Forge.Storage.Artifacts;
using MassTransit;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using static System.FormattableString;

namespace Forge.Feedback.Domain;

/// <summary>
/// Runs each model's retraining policy. Every stored feedback item is counted on the model's document by
/// compare-and-swap on its revision, and the policy is decided in that same write: the one write that crosses a
/// threshold also resets the counters and adds the decision to the document's pending list, so a crossing fires
/// exactly once however many requests (or replicas) count at the same time. The winner then writes the SFT file,
/// stores the retraining record and publishes <see cref="RetrainingRequested"/>; a decision interrupted half-way stays
/// pending and <see cref="PendingRetrainingDispatcher"/> finishes it.
/// </summary>
public sealed class RetrainingTrigger(
    FeedbackStore store,
    FeedbackExporter exporter,
    IArtifactStore artifacts,
    IPublishEndpoint publisher,
    FeedbackOptions options,
    TimeProvider clock,
    ILogger<RetrainingTrigger> logger)
{
    // Every lost compare-and-swap means another writer won, so this bounds only pathological contention.
    private const int MaxAttempts = 100;

    public static string SftDataKey(string model, string retrainingId) => $"feedback/{model}/{retrainingId}/sft.jsonl";

    public async Task<RetrainingPolicy> SetPolicyAsync(string model, RetrainingPolicy policy, CancellationToken cancellationToken)
    {
        await EnsureModelAsync(model, cancellationToken);
        await UpdateAsync(model, m => Task.FromResult<ModelFeedback?>(m with { Policy = policy }), cancellationToken);
        return policy;
    }

    /// <summary>Keeps the served version, the version of the model's most recent generation; a late or repeated event changes nothing.</summary>
    public async Task NoteGenerationAsync(StoredGeneration generation, CancellationToken cancellationToken)
    {
        await EnsureModelAsync(generation.Model, cancellationToken);
        await UpdateAsync(generation.Model, m => Task.FromResult(m.ServedSince is { } since && since >= generation.CreatedAt ? null
            : m with { ServedVersionId = generation.ModelVersionId, ServedSince = generation.CreatedAt }), cancellationToken);
    }

    /// <summary>Counts a newly stored feedback item and, when that makes the policy fire, requests retraining; returns the request, if any.</summary>
    public async Task<RetrainingRecord?> CountAsync(FeedbackItem item, CancellationToken cancellationToken)
    {
        await EnsureModelAsync(item.Model, cancellationToken);
        var makesExample = options.MakesSftExample(item);
        RetrainingDecision? decision = null;

        async Task<ModelFeedback?> CountAndDecideAsync(ModelFeedback model)
        {
            var aboutOlderGeneration = model.NewestFeedbackGenerationAt is { } newest && newest > item.GenerationCreatedAt;
            var counted = model with
            {
                NewFeedback = model.NewFeedback + 1,
                NewExamples = model.NewExamples + (makesExample ? 1 : 0),
                NewestFeedbackVersionId = aboutOlderGeneration ? model.NewestFeedbackVersionId : item.ModelVersionId,
                NewestFeedbackGenerationAt = aboutOlderGeneration ? model.NewestFeedbackGenerationAt : item.GenerationCreatedAt,
            };
            (decision, var decided) = await DecideAsync(counted, item, cancellationToken);
            return decided;
        }

        await UpdateAsync(item.Model, CountAndDecideAsync, cancellationToken);
        return decision is null ? null : await CompleteAsync(item.Model, decision, cancellationToken);
    }

    /// <summary>
    /// The policy's verdict on the document that counted <paramref name="item"/>: the decision (or null) and the document
    /// to write. The volume trigger needs both counts. The rating trigger fires when the served version's mean rating
    /// is below the bar, once per fall: the version is remembered, and forgotten again only when its mean recovers.
    /// That mean changes only with a rating of the served version, so only such a rating looks at it.
    /// </summary>
    private async Task<(RetrainingDecision? Decision, ModelFeedback Model)> DecideAsync(ModelFeedback model, FeedbackItem item, CancellationToken cancellationToken)
    {
        if (model.Policy is not { Enabled: true } policy)
            return (null, model);
        var reasons = new List<string>();
        if (model.NewFeedback >= policy.MinNewFeedback && model.NewExamples >= policy.MinNewExamples)
            reasons.Add(Invariant($"{model.NewFeedback} new feedback items, {model.NewExamples} of them SFT examples (policy: {policy.MinNewFeedback} and {policy.MinNewExamples})"));

        var lowRatingVersion = model.LowRatingVersionId;
        (int Count, double Mean)? ratings = null;
        if (policy.RatingBelow is { } below && model.ServedVersionId is { } served && item.Kind == FeedbackKinds.Rating && item.ModelVersionId == served)
        {
            var values = (await store.Items.FindAsync(i => i.ModelVersionId == served && i.Kind == FeedbackKinds.Rating, cancellationToken: cancellationToken))
                .Select(i => i.Rating ?? 0).ToList();
            var mean = values.Count == 0 ? 0 : values.Average();
            var low = values.Count >= policy.MinRatings && mean < below;
            if (low && lowRatingVersion != served)
            {
                lowRatingVersion = served;
                ratings = (values.Count, mean);
                reasons.Add(Invariant($"the mean rating of the served {served} is {mean:0.###} over {values.Count} ratings, below {below:0.###}"));
            }
            else if (!low && lowRatingVersion == served)
            {
                lowRatingVersion = null;
            }
        }
        if (reasons.Count == 0)
            return (null, model with { LowRatingVersionId = lowRatingVersion });

        var decision = new RetrainingDecision
        {
            Id = Guid.CreateVersion7().ToString("N"),
            // A low rating retrains the served version; enough new feedback retrains the newest version it was about.
            BaseVersionId = ratings is not null ? model.ServedVersionId! : model.NewestFeedbackVersionId!,
            Reason = string.Join("; ", reasons),
            NewFeedback = model.NewFeedback,
            NewExamples = model.NewExamples,
            Ratings = ratings?.Count,
            MeanRating = ratings?.Mean,
            DecidedAt = clock.GetUtcNow().UtcDateTime,
        };
        return (decision, model with
        {
            NewFeedback = 0,
            NewExamples = 0,
            NewestFeedbackVersionId = null,
            NewestFeedbackGenerationAt = null,
            LowRatingVersionId = lowRatingVersion,
            Pending = [.. model.Pending, decision],
        });
    }

    /// <summary>
    /// Carries out a decision, each step only if it is not done yet: the SFT file and the record (the record's id is the
    /// decision's, so a second writer finds it), then the event, claimed by a compare-and-swap on the record so that it
    /// is published once, then the decision leaves the pending list. Returns null, leaving the decision pending for the
    /// sweep, when a step fails.
    /// </summary>
    public async Task<RetrainingRecord?> CompleteAsync(string model, RetrainingDecision decision, CancellationToken cancellationToken)
    {
        try
        {
            var record = await store.Retrainings.GetAsync(decision.Id, cancellationToken) ?? await WriteRecordAsync(model, decision, cancellationToken);
            if (record.PublishedAt is null)
                record = await PublishAsync(record);
            await UpdateAsync(model, m => Task.FromResult(m.Pending.Exists(d => d.Id == decision.Id)
                ? m with { Pending = m.Pending.FindAll(d => d.Id != decision.Id) }
                : null), CancellationToken.None);
            return record;
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            logger.LogWarning(e, "Retraining {RetrainingId} of {Model} is not finished; the sweep will try again", decision.Id, model);
            return null;
        }
    }

    private async Task<RetrainingRecord> WriteRecordAsync(string model, RetrainingDecision decision, CancellationToken cancellationToken)
    {
        var key = SftDataKey(model, decision.Id);
        using var sft = new MemoryStream();
        var examples = await exporter.WriteSftAsync(model, sft, cancellationToken);
        sft.Position = 0;
        await artifacts.PutAsync(key, sft, cancellationToken);
        var record = new RetrainingRecord
        {
            Id = decision.Id,
            Model = model,
            BaseVersionId = decision.BaseVersionId,
            Reason = decision.Reason,
            NewFeedback = decision.NewFeedback,
            NewExamples = decision.NewExamples,
            Ratings = decision.Ratings,
            MeanRating = decision.MeanRating,
            Examples = examples,
            SftDataKey = key,
            RequestedAt = decision.DecidedAt,
        };
        if (await store.Retrainings.TryInsertAsync(record, CancellationToken.None))
            return record;
        return await store.Retrainings.GetAsync(decision.Id, CancellationToken.None)
            ?? throw new InvalidOperationException($"Retraining {decision.Id} was reported as a duplicate but cannot be read.");
    }

    /// <summary>Claims the record's event by marking it published, then publishes; a failed publish gives the claim back.</summary>
    private async Task<RetrainingRecord> PublishAsync(RetrainingRecord record)
    {
        var published = record with { PublishedAt = clock.GetUtcNow().UtcDateTime };
        if (!await store.Retrainings.TryReplaceAsync(published, r => r.PublishedAt == null, CancellationToken.None))
            return await store.Retrainings.GetAsync(record.Id, CancellationToken.None) ?? published;
        try
        {
            await publisher.Publish(new RetrainingRequested(record.Id, record.Model, record.BaseVersionId, record.SftDataKey, record.Examples, record.Reason, record.RequestedAt), CancellationToken.None);
        }
        catch
        {
            await store.Retrainings.TryReplaceAsync(record, r => r.PublishedAt != null, CancellationToken.None);
            throw;
        }
        logger.LogInformation("Requested retraining {RetrainingId} of {Model} from {BaseVersionId} on {Examples} SFT examples: {Reason}",
            record.Id, record.Model, record.BaseVersionId, record.Examples, record.Reason);
        return published;
    }

    private async Task EnsureModelAsync(string model, CancellationToken cancellationToken)
    {
        if (await store.Models.GetAsync(model, cancellationToken) is null)
            await store.Models.TryInsertAsync(new ModelFeedback { Id = model, CreatedAt = clock.GetUtcNow().UtcDateTime }, cancellationToken);
    }

    /// <summary>Applies <paramref name="change"/> to the model's document until its write wins the compare-and-swap; change returns null to write nothing.</summary>
    private async Task<ModelFeedback?> UpdateAsync(string model, Func<ModelFeedback, Task<ModelFeedback?>> change, CancellationToken cancellationToken)
    {
        for (var attempt = 0; attempt < MaxAttempts; attempt++)
        {
            if (await store.Models.GetAsync(model, cancellationToken) is not { } current)
                return null;
            if (await change(current) is not { } changed)
                return current;
            var expected = current.Revision;
            var updated = changed with { Revision = expected + 1 };
            if (await store.Models.TryReplaceAsync(updated, m => m.Revision == expected, cancellationToken))
                return updated;
        }
        throw new ProblemException(StatusCodes.Status409Conflict, "Conflict", $"The feedback state of model {model} kept changing under this request; try again.");
    }
}
