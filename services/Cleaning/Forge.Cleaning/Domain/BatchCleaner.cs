using System.Text;
using System.Text.Json;
using Forge.Cleaning.Pipeline;
using Forge.Storage.Artifacts;

namespace Forge.Cleaning.Domain;

public sealed record CleaningResult(
    int DocumentsIn,
    int DocumentsOut,
    long BytesIn,
    long BytesOut,
    Dictionary<string, int> Dropped,
    Dictionary<string, List<DropSample>> Samples,
    Dictionary<string, int> Redactions);

/// <summary>
/// Cleans one raw JSONL batch into one clean JSONL shard: per-document steps, then dedup against the dataset,
/// then the shard is written. Each kept line is {"text", "id"?, "h"}, where h is the hash of the clean text that
/// fixes the document's train/validation side when a version is sealed.
/// </summary>
public sealed class BatchCleaner(IArtifactStore artifacts, Deduplicator deduplicator)
{
    public const string Unreadable = "unreadable-line";
    private const int ExcerptLength = 200;

    public static string ShardKeyFor(string datasetId, string batchId) => $"datasets/{datasetId}/clean/{batchId}.jsonl";

    private sealed record Kept(string Text, string? Id);

    public async Task<CleaningResult> CleanAsync(string datasetId, string batchId, string rawKey, string shardKey, CleaningSettings settings, CancellationToken cancellationToken)
    {
        var dropped = new Dictionary<string, int>();
        var samples = new Dictionary<string, List<DropSample>>();
        var redactions = new Dictionary<string, int>();
        var kept = new List<Kept>();
        var candidates = new List<DedupCandidate>();
        int documentsIn = 0;
        long bytesIn = 0;

        void Drop(string reason, string? id, string text)
        {
            dropped[reason] = dropped.GetValueOrDefault(reason) + 1;
            var list = samples.TryGetValue(reason, out var existing) ? existing : samples[reason] = [];
            if (list.Count < settings.SamplesPerReason)
                list.Add(new DropSample(id, text.Length <= ExcerptLength ? text : text[..ExcerptLength]));
        }

        await using (var raw = await artifacts.OpenReadAsync(rawKey, cancellationToken))
        using (var reader = new StreamReader(raw, Encoding.UTF8))
        {
            while (await reader.ReadLineAsync(cancellationToken) is { } line)
            {
                if (line.Length == 0)
                    continue;
                var ordinal = documentsIn++;
                bytesIn += Encoding.UTF8.GetByteCount(line) + 1;
                if (!TryReadText(line, out var text, out var id))
                {
                    Drop(Unreadable, null, line);
                    continue;
                }
                var cleaned = DocumentCleaner.Clean(text, settings);
                if (cleaned.Text is null)
                {
                    Drop(cleaned.DropReason!, id, text);
                    continue;
                }
                if (cleaned.Redaction is { Total: > 0 } redaction)
                    CountRedactions(redactions, redaction);
                kept.Add(new Kept(cleaned.Text, id));
                candidates.Add(new DedupCandidate($"{batchId}#{ordinal}", cleaned.Text));
            }
        }

        var verdicts = await deduplicator.DeduplicateAsync(datasetId, batchId, candidates, settings, cancellationToken);
        var documentsOut = 0;
        await using var shard = new FileStream(Path.GetTempFileName(), FileMode.Open, FileAccess.ReadWrite, FileShare.None, 1 << 16, FileOptions.DeleteOnClose | FileOptions.Asynchronous);
        await using (var writer = new Utf8JsonWriter(shard))
        {
            for (var i = 0; i < kept.Count; i++)
            {
                if (verdicts[i] is { } reason)
                {
                    Drop(reason, kept[i].Id, kept[i].Text);
                    continue;
                }
                writer.WriteStartObject();
                writer.WriteString("text", kept[i].Text);
                if (kept[i].Id is { } id)
                    writer.WriteString("id", id);
                writer.WriteString("h", Deduplicator.TextHash(kept[i].Text));
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
        return new CleaningResult(documentsIn, documentsOut, bytesIn, bytesOut, dropped, samples, redactions);
    }

    private static void CountRedactions(Dictionary<string, int> counts, PiiRedactor.Redaction redaction)
    {
        foreach (var (kind, count) in new[] { ("email", redaction.Emails), ("card", redaction.Cards), ("iban", redaction.Ibans), ("ip-address", redaction.IpAddresses), ("phone", redaction.Phones) })
        {
            if (count > 0)
                counts[kind] = counts.GetValueOrDefault(kind) + count;
        }
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
}
