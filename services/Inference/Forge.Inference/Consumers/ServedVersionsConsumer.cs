using Forge.Contracts;
using Forge.Inference.Domain;
using MassTransit;

namespace Forge.Inference.Consumers;

/// <summary>
/// Follows the registry: remembers every registered version (so any can be served by id) and which version of each
/// model is promoted. Redeliveries and out-of-order announcements are harmless: a promotion or rollback is applied
/// only when it is newer than the last one applied.
/// </summary>
public sealed class ServedVersionsConsumer(InferenceStore store) :
    IConsumer<ModelVersionRegistered>, IConsumer<ModelPromoted>, IConsumer<ModelRolledBack>
{
    public Task Consume(ConsumeContext<ModelVersionRegistered> context)
    {
        var version = context.Message;
        return store.Versions.UpsertAsync(new ServedVersion
        {
            Id = version.ModelVersionId,
            Model = version.Model,
            CheckpointKey = version.CheckpointKey,
            TokenizerId = version.TokenizerId,
            RegisteredAt = version.RegisteredAt,
        }, context.CancellationToken);
    }

    public Task Consume(ConsumeContext<ModelPromoted> context) =>
        SetPromotedAsync(context.Message.Model, context.Message.ModelVersionId, context.Message.PromotedAt, context.CancellationToken);

    public Task Consume(ConsumeContext<ModelRolledBack> context) =>
        SetPromotedAsync(context.Message.Model, context.Message.RestoredVersionId, context.Message.RolledBackAt, context.CancellationToken);

    private async Task SetPromotedAsync(string model, string versionId, DateTime at, CancellationToken cancellationToken)
    {
        while (true)
        {
            var current = await store.Models.GetAsync(model, cancellationToken);
            if (current is not null && current.ChangedAt >= at)
                return;
            var next = new ServedModel { Id = model, PromotedVersionId = versionId, ChangedAt = at };
            if (current is null ? await store.Models.TryInsertAsync(next, cancellationToken)
                : await store.Models.TryReplaceAsync(next, m => m.ChangedAt == current.ChangedAt, cancellationToken))
                return;
        }
    }
}
