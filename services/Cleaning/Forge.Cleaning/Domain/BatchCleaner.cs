using System.Text;
using System.Text.Json;
using Forge.Storage.Artifacts;

namespace Forge.Cleaning.Domain;

public sealed record CleaningResult(int DocumentsIn, int DocumentsOut, long BytesIn, long BytesOut, Dictionary<string, int> Dropped);

/// <summary>Streams a raw JSONL batch through the cleaning steps into a clean JSONL shard.</summary>
public sealed class BatchCleaner(IArtifactStore artifacts)
{
    public const string EmptyAfterNormalisation = "empty-after-normalisation";
    public const string Unreadable = "unreadable-line";

    public static string ShardKeyFor(string datasetId, string batchId) => $"datasets/{datasetId}/clean/{batchId}.jsonl";

    public async Task<CleaningResult> CleanAsync(string rawKey, string shardKey, CancellationToken cancellationToken)
    {
        var dropped = new Dictionary<string, int>();
        int documentsIn = 0, documentsOut = 0;
        long bytesIn = 0;
        // Spooled to a temporary file, so a large batch is never held in memory whole.
        await using var shard = new FileStream(Path.GetTempFileName(), FileMode.Open, FileAccess.ReadWrite, FileShare.None, 1 << 16, FileOptions.DeleteOnClose | FileOptions.Asynchronous);
        await using (var raw = await artifacts.OpenReadAsync(rawKey, cancellationToken))
        using (var reader = new StreamReader(raw, Encoding.UTF8))
        await using (var writer = new Utf8JsonWriter(shard))
        {
            while (await reader.ReadLineAsync(cancellationToken) is { } line)
            {
                if (line.Length == 0)
                    continue;
                documentsIn++;
                bytesIn += Encoding.UTF8.GetByteCount(line) + 1;
                if (!TryReadText(line, out var text, out var id))
                {
                    Count(dropped, Unreadable);
                    continue;
                }
                var clean = TextNormalizer.Normalize(text);
                if (clean.Length == 0)
                {
                    Count(dropped, EmptyAfterNormalisation);
                    continue;
                }
                writer.WriteStartObject();
                writer.WriteString("text", clean);
                if (id is not null)
                    writer.WriteString("id", id);
                writer.WriteEndObject();
                await writer.FlushAsync(cancellationToken);
                shard.WriteByte((byte)'\n');
                writer.Reset();
                documentsOut++;
            }
        }
        var bytesOut = shard.Length;
        shard.Position = 0;
        await artifacts.PutAsync(shardKey, shard, cancellationToken);
        return new CleaningResult(documentsIn, documentsOut, bytesIn, bytesOut, dropped);
    }

    private static bool TryReadText(string line, out string text, out string? id)
    {
        text = "";
        id = null;
        try
        {
            using var json = JsonDocument.Parse(line);
            if (json.RootElement.ValueKind != JsonValueKind.Object || !json.RootElement.TryGetProperty("text", out var textElement) || textElement.ValueKind != JsonValueKind.String)
                return false;
            text = textElement.GetString()!;
            if (json.RootElement.TryGetProperty("id", out var idElement) && idElement.ValueKind == JsonValueKind.String)
                id = idElement.GetString();
            return true;
        }
        catch (JsonException)
        {
            return false;
        }
    }

    private static void Count(Dictionary<string, int> counts, string reason) =>
        counts[reason] = counts.GetValueOrDefault(reason) + 1;
}
