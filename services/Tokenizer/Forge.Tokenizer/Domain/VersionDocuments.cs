using System.Runtime.CompilerServices;
using System.Text.Json;
using Forge.Datasets;
using Forge.Storage.Artifacts;

namespace Forge.Tokenizer.Domain;

public sealed record VersionDocument(string Text, bool Validation);

/// <summary>Streams the documents of a sealed dataset version from its clean shards, each marked with its side of the split.</summary>
public sealed class VersionDocuments(IArtifactStore artifacts)
{
    public async Task<DatasetManifest> ManifestAsync(KnownDatasetVersion version, CancellationToken cancellationToken) =>
        DatasetManifest.FromJson(await artifacts.ReadAllBytesAsync(version.ManifestKey, cancellationToken));

    public async IAsyncEnumerable<VersionDocument> ReadAsync(DatasetManifest manifest, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        foreach (var shard in manifest.Shards)
        {
            await using var stream = await artifacts.OpenReadAsync(shard.Key, cancellationToken);
            using var reader = new StreamReader(stream);
            while (await reader.ReadLineAsync(cancellationToken) is { Length: > 0 } line)
            {
                using var json = JsonDocument.Parse(line);
                var text = json.RootElement.GetProperty("text").GetString()!;
                var hash = json.RootElement.GetProperty("h").GetString()!;
                yield return new VersionDocument(text, manifest.Split.IsValidation(hash));
            }
        }
    }
}
