using Forge.Cleaning.Pipeline;

namespace Forge.Cleaning.Domain;

/// <summary>A dataset's own settings when it has them, else the service's defaults (configuration section "Cleaning").</summary>
public sealed class CleaningSettingsProvider(CleaningStore store, CleaningSettings defaults)
{
    public CleaningSettings Defaults => defaults;

    public async Task<CleaningSettings> ForDatasetAsync(string datasetId, CancellationToken cancellationToken) =>
        (await store.Settings.GetAsync(datasetId, cancellationToken))?.Settings ?? defaults;
}
