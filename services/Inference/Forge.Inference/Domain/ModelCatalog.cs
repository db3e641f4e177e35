namespace Forge.Inference.Domain;

/// <summary>Why a model name does not lead to a version: the caller answers 404 (unknown) or 409 (nothing promoted yet).</summary>
public sealed class ModelNotServableException(string message, bool unknown) : Exception(message)
{
    public bool Unknown { get; } = unknown;
}

/// <summary>
/// Resolves what a request names: <c>{model}@{n}</c> is that version in any state; <c>{model}</c> is the model's
/// promoted version; nothing (or "default") is the promoted version of the only model there is, or of "default".
/// </summary>
public sealed class ModelCatalog(InferenceStore store)
{
    public async Task<ServedVersion> ResolveAsync(string? name, CancellationToken cancellationToken)
    {
        name = string.IsNullOrWhiteSpace(name) ? null : name.Trim();
        if (name is not null && name.Contains('@', StringComparison.Ordinal))
            return await store.Versions.GetAsync(name, cancellationToken)
                ?? throw new ModelNotServableException($"There is no model version '{name}'.", unknown: true);

        ServedModel? model;
        if (name is null or "default")
        {
            var promoted = await store.Models.FindAsync(m => m.PromotedVersionId != null, cancellationToken: cancellationToken);
            model = promoted.FirstOrDefault(m => m.Id == "default") ?? (promoted.Count == 1 ? promoted[0] : null);
            if (model is null)
                throw new ModelNotServableException(promoted.Count == 0
                    ? "No model has a promoted version yet; train and promote one, or name a version as {model}@{n}."
                    : $"Several models are served ({string.Join(", ", promoted.Select(m => m.Id).Order(StringComparer.Ordinal))}); name one.", unknown: promoted.Count == 0);
        }
        else
        {
            model = await store.Models.GetAsync(name, cancellationToken);
            if (model?.PromotedVersionId is null)
            {
                var known = await store.Versions.CountAsync(v => v.Model == name, cancellationToken) > 0;
                throw new ModelNotServableException(known
                    ? $"Model '{name}' has no promoted version yet; name a version as {name}@{{n}}."
                    : $"There is no model '{name}'.", unknown: !known);
            }
        }
        return await store.Versions.GetAsync(model.PromotedVersionId!, cancellationToken)
            ?? throw new ModelNotServableException($"Model version '{model.PromotedVersionId}' was promoted but its registration has not arrived yet.", unknown: false);
    }
}
