using System.Security.Cryptography;
using System.Text;
using Forge.Contracts;
using Forge.ServiceDefaults;
using Forge.Storage.Metadata;
using MassTransit;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Forge.Orchestrator.Domain;

/// <summary>A candidate to register: the checkpoint, its lineage, any metrics already measured (eval set to name to value).</summary>
public sealed record NewModelVersion(
    string Model,
    string RunId,
    string CheckpointKey,
    string TokenizerId,
    IReadOnlyList<string> DatasetVersions,
    IReadOnlyDictionary<string, Dictionary<string, double>> Metrics,
    bool AutoPromote,
    string By,
    IReadOnlyList<string>? ValidationShards = null)
{
    /// <summary>The token shards the run trained on; a fine-tune of this version replays them.</summary>
    public IReadOnlyList<string> TrainShards { get; init; } = [];

    /// <summary>For a fine-tune: the version it started from.</summary>
    public string? BaseVersionId { get; init; }

    /// <summary>For a fine-tune feedback asked for: the retraining request.</summary>
    public string? RetrainingId { get; init; }
}

public enum RegistrationResult
{
    Created,
    /// <summary>The same checkpoint of the same run was registered before, with the same lineage: a retry.</summary>
    Existing,
    /// <summary>The same checkpoint of the same run was registered before with another tokenizer or other dataset versions.</summary>
    Conflict,
}

public enum PromotionResult
{
    Promoted,
    AlreadyPromoted,
    Refused,
}

public sealed record PromotionOutcome(ModelVersion Version, PromotionResult Result, string? RetiredVersionId, IReadOnlyList<string> Reasons);

/// <summary>A rollback's restored and retired versions, or why there was nothing to roll back.</summary>
public sealed record RollbackOutcome(ModelVersion? Restored, ModelVersion? Retired, string? Refusal);

/// <summary>
/// The model registry. A family's promoted version changes only by compare-and-swap on the family document, so at
/// any time there is at most one; the versions' own states follow each change in family-revision order, and a change
/// interrupted half-way is finished by the next operation on the family. Events are published after the writes.
/// </summary>
public sealed class ModelRegistry(RegistryStore store, IPublishEndpoint publisher, TimeProvider clock, ILogger<ModelRegistry> logger)
{
    /// <summary>Who the registry's own promotions are attributed to.</summary>
    public const string RegistryActor = "registry";

    // Every lost compare-and-swap means another writer won, so this bounds only pathological contention.
    private const int MaxAttempts = 100;

    public async Task<(ModelVersion Version, RegistrationResult Result)> RegisterAsync(NewModelVersion request, CancellationToken cancellationToken)
    {
        var identity = CheckpointIdentity(request);
        if (await store.Versions.FindOneAsync(v => v.CheckpointIdentity == identity, cancellationToken) is { } existing)
        {
            if (!SameLineage(existing, request))
                return (existing, RegistrationResult.Conflict);
            // A repeat of a registration whose first attempt stopped before announcing it finishes what it owes.
            return (await FinishAsync(existing, CancellationToken.None), RegistrationResult.Existing);
        }

        var now = clock.GetUtcNow().UtcDateTime;
        await store.Families.TryInsertAsync(new ModelFamily { Id = request.Model, CreatedAt = now }, cancellationToken);
        var (family, _) = await UpdateFamilyAsync(request.Model, f => Task.FromResult<ModelFamily?>(f with { LastNumber = f.LastNumber + 1 }), cancellationToken);
        var version = new ModelVersion
        {
            Id = $"{request.Model}@{family!.LastNumber}",
            Model = request.Model,
            Number = family.LastNumber,
            RunId = request.RunId,
            CheckpointKey = request.CheckpointKey,
            TokenizerId = request.TokenizerId,
            DatasetVersions = [.. request.DatasetVersions],
            ValidationShards = [.. request.ValidationShards ?? []],
            TrainShards = [.. request.TrainShards],
            BaseVersionId = request.BaseVersionId,
            RetrainingId = request.RetrainingId,
            Metrics = request.Metrics.Select(m => new EvalSetMetrics { EvalSet = m.Key, Values = new(m.Value, StringComparer.Ordinal), MeasuredAt = now }).ToList(),
            State = ModelState.Candidate,
            AutoPromote = request.AutoPromote,
            RegisteredAt = now,
            History = [new HistoryEntry { At = now, By = request.By, Reason = "registered", To = ModelState.Candidate }],
            CheckpointIdentity = identity,
            AnnouncementPending = true,
            PendingPromotion = request.AutoPromote && request.Metrics.Count > 0 ? new PendingPromotion { Reason = "auto-promotion at registration", Since = now } : null,
        };
        if (!await store.Versions.TryInsertAsync(version, CancellationToken.None))
        {
            // A concurrent registration of the same checkpoint won; its number is used and this one is skipped.
            var winner = await store.Versions.FindOneAsync(v => v.CheckpointIdentity == identity, CancellationToken.None)
                ?? throw new InvalidOperationException($"Version of checkpoint {request.CheckpointKey} was reported as a duplicate but cannot be read.");
            return (winner, SameLineage(winner, request) ? RegistrationResult.Existing : RegistrationResult.Conflict);
        }
        logger.LogInformation("Registered {ModelVersionId} from run {RunId}, checkpoint {CheckpointKey}", version.Id, version.RunId, version.CheckpointKey);
        return (await FinishAsync(version, CancellationToken.None), RegistrationResult.Created);
    }

    /// <summary>
    /// Does what a version is still owed after a write that a crash may have cut short: its registration's announcement,
    /// then its auto-promotion attempt. Each is done only while its flag is set, and the flag is cleared after it.
    /// </summary>
    private async Task<ModelVersion> FinishAsync(ModelVersion version, CancellationToken cancellationToken)
    {
        if (version.AnnouncementPending)
        {
            await publisher.Publish(new ModelVersionRegistered(version.Id, version.Model, version.RunId, version.CheckpointKey, version.TokenizerId, version.DatasetVersions, version.RegisteredAt, version.ValidationShards), cancellationToken);
            version = (await UpdateVersionAsync(version.Id, v => v.AnnouncementPending ? v with { AnnouncementPending = false } : null, cancellationToken)).Version ?? version;
        }
        if (version.PendingPromotion is { } pending)
        {
            if (version.AutoPromote && version.State == ModelState.Candidate)
                await PromoteAsync(version.Id, RegistryActor, pending.Reason, cancellationToken);
            version = (await UpdateVersionAsync(version.Id, v => v.PendingPromotion is null ? null : v with { PendingPromotion = null }, cancellationToken)).Version ?? version;
        }
        return version;
    }

    /// <summary>
    /// Records a version's metrics on an eval set (replacing earlier ones on that set), then, for a candidate that asked
    /// for it, tries a gated promotion. Recording the same evaluation again changes nothing and promotes nothing, unless
    /// the first recording stopped (a crash) before its promotion attempt ended: then the repeat makes that attempt.
    /// </summary>
    /// <returns>The version, or null when there is no such version.</returns>
    public async Task<ModelVersion?> RecordMetricsAsync(
        string versionId, string evalSet, IReadOnlyDictionary<string, double> metrics, string? evaluationId, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow().UtcDateTime;
        var (version, changed) = await UpdateVersionAsync(versionId, v =>
        {
            var current = v.Metrics.Find(m => m.EvalSet == evalSet);
            if (current is not null && current.EvaluationId == evaluationId && SameValues(current.Values, metrics))
                return null;
            var measured = new EvalSetMetrics { EvalSet = evalSet, Values = new(metrics, StringComparer.Ordinal), EvaluationId = evaluationId, MeasuredAt = now };
            // The promotion attempt is owed from this very write on: a crash before it is made still leaves it owed.
            var pending = v.AutoPromote && v.State == ModelState.Candidate
                ? new PendingPromotion { Reason = $"auto-promotion after metrics on {evalSet}", Since = now }
                : v.PendingPromotion;
            return v with { Metrics = [.. v.Metrics.Where(m => m.EvalSet != evalSet), measured], PendingPromotion = pending };
        }, cancellationToken);
        if (version is null)
            return null;
        if (changed)
            logger.LogInformation("Recorded metrics of {ModelVersionId} on eval set {EvalSet}: {Metrics}", versionId, evalSet, metrics);
        // Unchanged metrics promote nothing, unless an earlier recording of them stopped before its attempt ended.
        return await FinishAsync(version, CancellationToken.None);
    }

    /// <summary>Promotes the version if its family's policy lets it replace the promoted one; null when there is no such version.</summary>
    public async Task<PromotionOutcome?> PromoteAsync(string versionId, string by, string reason, CancellationToken cancellationToken)
    {
        if (await store.Versions.GetAsync(versionId, cancellationToken) is not { } candidate)
            return null;
        var now = clock.GetUtcNow().UtcDateTime;
        PromotionOutcome outcome = null!;

        async Task<ModelFamily?> DecideAsync(ModelFamily family)
        {
            await ApplyAsync(family.LastChange, cancellationToken);
            var current = await store.Versions.GetAsync(versionId, cancellationToken) ?? candidate;
            if (family.PromotedVersionId == versionId)
            {
                outcome = new PromotionOutcome(current, PromotionResult.AlreadyPromoted, null, []);
                return null;
            }
            var incumbent = family.PromotedVersionId is { } promotedId ? await store.Versions.GetAsync(promotedId, cancellationToken) : null;
            var reasons = family.Policy.Check(current, incumbent);
            if (reasons.Count > 0)
            {
                outcome = new PromotionOutcome(current, PromotionResult.Refused, null, reasons);
                return null;
            }
            outcome = new PromotionOutcome(current, PromotionResult.Promoted, family.PromotedVersionId, []);
            await AnnounceBeforeReplacingAsync(family);
            return family with
            {
                PromotedVersionId = versionId,
                PreviouslyPromoted = [.. family.PreviouslyPromoted.Where(id => id != versionId), .. family.PromotedVersionId is { } previous ? [previous] : Array.Empty<string>()],
                LastChange = new StateChange { Revision = family.Revision + 1, PromotedVersionId = versionId, RetiredVersionId = family.PromotedVersionId, By = by, Reason = reason, At = now, AnnouncementPending = true },
            };
        }

        var (family, written) = await UpdateFamilyAsync(candidate.Model, DecideAsync, cancellationToken);
        if (family is null)
            throw new InvalidOperationException($"Version {versionId} has no family {candidate.Model}.");
        if (!written)
        {
            if (outcome.Result == PromotionResult.Refused)
            {
                logger.LogInformation("Promotion of {ModelVersionId} by {By} refused: {Reasons}", versionId, by, outcome.Reasons);
                await publisher.Publish(new PromotionRefused(versionId, candidate.Model, outcome.Reasons, by, now), CancellationToken.None);
            }
            else if (outcome.Result == PromotionResult.AlreadyPromoted)
            {
                // The promotion that made it so may have stopped before announcing itself.
                await AnnounceAsync(family, CancellationToken.None);
            }
            return outcome;
        }
        await ApplyAsync(family.LastChange, CancellationToken.None);
        logger.LogInformation("Promoted {ModelVersionId} by {By} ({Reason}); retired {RetiredVersionId}", versionId, by, reason, outcome.RetiredVersionId ?? "none");
        await AnnounceAsync(family, CancellationToken.None);
        return outcome with { Version = await store.Versions.GetAsync(versionId, CancellationToken.None) ?? outcome.Version };
    }

    /// <summary>Retires the promoted version and restores the one promoted before it, without gates; null when the model is unknown.</summary>
    public async Task<RollbackOutcome?> RollbackAsync(string model, string by, string reason, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow().UtcDateTime;
        string? refusal = null;

        async Task<ModelFamily?> DecideAsync(ModelFamily family)
        {
            await ApplyAsync(family.LastChange, cancellationToken);
            refusal = family switch
            {
                { PromotedVersionId: null } => $"Model '{model}' has no promoted version to roll back.",
                { PreviouslyPromoted.Count: 0 } => $"Model '{model}' has no earlier promoted version to restore.",
                _ => null,
            };
            if (refusal is not null)
                return null;
            var restored = family.PreviouslyPromoted[^1];
            await AnnounceBeforeReplacingAsync(family);
            return family with
            {
                PromotedVersionId = restored,
                PreviouslyPromoted = family.PreviouslyPromoted.GetRange(0, family.PreviouslyPromoted.Count - 1),
                LastChange = new StateChange { Revision = family.Revision + 1, PromotedVersionId = restored, RetiredVersionId = family.PromotedVersionId, By = by, Reason = reason, At = now, Rollback = true, AnnouncementPending = true },
            };
        }

        var (family, written) = await UpdateFamilyAsync(model, DecideAsync, cancellationToken);
        if (family is null)
            return null;
        if (!written)
            return new RollbackOutcome(null, null, refusal);
        var change = family.LastChange!;
        await ApplyAsync(change, CancellationToken.None);
        logger.LogInformation("Rolled back {Model} by {By} ({Reason}): retired {RetiredVersionId}, restored {RestoredVersionId}", model, by, reason, change.RetiredVersionId, change.PromotedVersionId);
        await AnnounceAsync(family, CancellationToken.None);
        return new RollbackOutcome(
            await store.Versions.GetAsync(change.PromotedVersionId!, CancellationToken.None),
            await store.Versions.GetAsync(change.RetiredVersionId!, CancellationToken.None),
            null);
    }

    public async Task<ModelFamily> SetPolicyAsync(string model, PromotionPolicy policy, CancellationToken cancellationToken)
    {
        await store.Families.TryInsertAsync(new ModelFamily { Id = model, CreatedAt = clock.GetUtcNow().UtcDateTime }, cancellationToken);
        var (family, _) = await UpdateFamilyAsync(model, f => Task.FromResult<ModelFamily?>(f with { Policy = policy }), cancellationToken);
        logger.LogInformation("Promotion policy of {Model} set: {Gates} gates, must beat the promoted version: {MustBeatPromoted}", model, policy.Gates.Count, policy.MustBeatPromoted);
        return family!;
    }

    /// <summary>
    /// Finishes what writes that a crash may have cut short still owe, for those older than <paramref name="cutoff"/>
    /// (younger ones are most likely being finished by the call that wrote them): registrations not yet announced,
    /// auto-promotion attempts not yet made, promotions and rollbacks not yet applied to the versions or announced.
    /// </summary>
    /// <returns>How many it finished.</returns>
    public async Task<int> FinishPendingAsync(DateTime cutoff, CancellationToken cancellationToken)
    {
        var finished = 0;
        var versions = await store.Versions.FindAsync(v => v.AnnouncementPending || v.PendingPromotion != null, cancellationToken: cancellationToken);
        foreach (var version in versions.Where(v => v.AnnouncementPending ? v.RegisteredAt < cutoff : v.PendingPromotion!.Since < cutoff))
        {
            await FinishAsync(version, cancellationToken);
            finished++;
        }
        // One document per model, so reading them all is cheap.
        var families = await store.Families.FindAsync(_ => true, cancellationToken: cancellationToken);
        foreach (var family in families.Where(f => f.LastChange is { AnnouncementPending: true } change && change.At < cutoff))
        {
            await ApplyAsync(family.LastChange, cancellationToken);
            await AnnounceAsync(family, cancellationToken);
            finished++;
        }
        return finished;
    }

    /// <summary>Publishes the family's last change (ModelPromoted or ModelRolledBack) if it is still unannounced, then marks it announced.</summary>
    private async Task AnnounceAsync(ModelFamily family, CancellationToken cancellationToken)
    {
        if (family.LastChange is not { AnnouncementPending: true } change)
            return;
        await PublishAsync(family.Id, change, cancellationToken);
        await UpdateFamilyAsync(family.Id, f => Task.FromResult(f.LastChange is { AnnouncementPending: true } last && last.Revision == change.Revision
            ? f with { LastChange = last with { AnnouncementPending = false } }
            : null), cancellationToken);
    }

    /// <summary>A change about to be replaced by a newer one is announced first, so that no promotion or rollback goes unannounced.</summary>
    private async Task AnnounceBeforeReplacingAsync(ModelFamily family)
    {
        if (family.LastChange is { AnnouncementPending: true } change)
            await PublishAsync(family.Id, change, CancellationToken.None);
    }

    private Task PublishAsync(string model, StateChange change, CancellationToken cancellationToken) => change.Rollback
        ? publisher.Publish(new ModelRolledBack(model, change.RetiredVersionId!, change.PromotedVersionId!, change.By, change.Reason, change.At), cancellationToken)
        : publisher.Publish(new ModelPromoted(change.PromotedVersionId!, model, change.RetiredVersionId, change.By, change.Reason, change.At), cancellationToken);

    /// <summary>
    /// Makes the versions' states agree with a family change: the retired one first, so that no reader ever sees two
    /// promoted versions. A version already past this change's revision is left alone, so replays are harmless.
    /// </summary>
    private async Task ApplyAsync(StateChange? change, CancellationToken cancellationToken)
    {
        if (change is null)
            return;
        if (change.RetiredVersionId is { } retired)
            await SetStateAsync(retired, ModelState.Retired, change, cancellationToken);
        if (change.PromotedVersionId is { } promoted)
            await SetStateAsync(promoted, ModelState.Promoted, change, cancellationToken);
    }

    private async Task SetStateAsync(string versionId, ModelState state, StateChange change, CancellationToken cancellationToken) =>
        await UpdateVersionAsync(versionId, v => v.StateRevision >= change.Revision ? null : v with
        {
            State = state,
            StateRevision = change.Revision,
            History = v.State == state ? v.History : [.. v.History, new HistoryEntry { At = change.At, By = change.By, Reason = change.Reason, From = v.State, To = state }],
        }, cancellationToken);

    /// <summary>Applies <paramref name="decide"/> to the family until its write wins the compare-and-swap; decide returns null to write nothing.</summary>
    private async Task<(ModelFamily? Family, bool Written)> UpdateFamilyAsync(string model, Func<ModelFamily, Task<ModelFamily?>> decide, CancellationToken cancellationToken)
    {
        for (var attempt = 0; attempt < MaxAttempts; attempt++)
        {
            if (await store.Families.GetAsync(model, cancellationToken) is not { } family)
                return (null, false);
            if (await decide(family) is not { } decided)
                return (family, false);
            var expected = family.Revision;
            var updated = decided with { Revision = expected + 1 };
            if (await store.Families.TryReplaceAsync(updated, f => f.Revision == expected, cancellationToken))
                return (updated, true);
        }
        throw Contention($"model {model}");
    }

    /// <summary>Applies <paramref name="change"/> to the version until its write wins the compare-and-swap; change returns null to write nothing.</summary>
    private async Task<(ModelVersion? Version, bool Written)> UpdateVersionAsync(string versionId, Func<ModelVersion, ModelVersion?> change, CancellationToken cancellationToken)
    {
        for (var attempt = 0; attempt < MaxAttempts; attempt++)
        {
            if (await store.Versions.GetAsync(versionId, cancellationToken) is not { } version)
                return (null, false);
            if (change(version) is not { } changed)
                return (version, false);
            var expected = version.Revision;
            var updated = changed with { Revision = expected + 1 };
            if (await store.Versions.TryReplaceAsync(updated, v => v.Revision == expected, cancellationToken))
                return (updated, true);
        }
        throw Contention($"model version {versionId}");
    }

    private static ProblemException Contention(string what) =>
        new(StatusCodes.Status409Conflict, "Conflict", $"The {what} kept changing under this request; try again.");

    private static string CheckpointIdentity(NewModelVersion request) =>
        Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes($"{request.Model}\n{request.RunId}\n{request.CheckpointKey}")));

    private static bool SameLineage(ModelVersion version, NewModelVersion request) =>
        version.TokenizerId == request.TokenizerId && version.DatasetVersions.SequenceEqual(request.DatasetVersions);

    private static bool SameValues(Dictionary<string, double> stored, IReadOnlyDictionary<string, double> metrics) =>
        stored.Count == metrics.Count && metrics.All(m => stored.TryGetValue(m.Key, out var value) && value.Equals(m.Value));
}
