using System.Text;
using Forge.Cleaning.Pipeline;
using Forge.ServiceDefaults;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Forge.Cleaning.Domain;

/// <summary>A dataset's own settings when it has them, else the service's defaults (configuration section "Cleaning").</summary>
public sealed class CleaningSettingsProvider(CleaningStore store, CleaningSettings defaults)
{
    public CleaningSettings Defaults => defaults;

    public async Task<CleaningSettings> ForDatasetAsync(string datasetId, CancellationToken cancellationToken) =>
        (await store.Settings.GetAsync(datasetId, cancellationToken))?.Settings ?? defaults;

    /// <summary>
    /// Reads settings JSON strictly (an unknown field or a wrong type is refused, naming it), validates them and stores
    /// them as the dataset's own; missing fields keep their defaults. Storing the same settings again changes nothing.
    /// </summary>
    public async Task<(CleaningSettings? Settings, ProblemHttpResult? Problem)> StoreAsync(string datasetId, HttpRequest json, CancellationToken cancellationToken)
    {
        var (settings, problem) = await JsonBody.ReadAsync<CleaningSettings>(json, cancellationToken);
        if (problem is not null)
            return (null, problem);
        if (settings!.Validate() is { } invalid)
            return (null, Problems.Invalid(invalid.Field, invalid.Message));
        await store.Settings.UpsertAsync(new DatasetCleaningSettings { Id = datasetId, Settings = settings }, cancellationToken);
        return (settings, null);
    }

    /// <summary>The same for settings that arrive as a JSON string (a build's command), through the very same reader.</summary>
    public Task<(CleaningSettings? Settings, ProblemHttpResult? Problem)> StoreAsync(string datasetId, string json, CancellationToken cancellationToken)
    {
        var request = new DefaultHttpContext().Request;
        request.ContentType = "application/json";
        request.Body = new MemoryStream(Encoding.UTF8.GetBytes(json));
        return StoreAsync(datasetId, request, cancellationToken);
    }
}
