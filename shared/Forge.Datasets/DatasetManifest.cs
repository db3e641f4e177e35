using System.Buffers.Binary;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Forge.Datasets;

/// <summary>
/// An immutable dataset version: the clean shards it holds, their statistics and lineage, and the rule that splits
/// its documents into train and validation. Written once to <c>datasets/{id}/versions/{n}/manifest.json</c>.
/// </summary>
public sealed record DatasetManifest
{
    public const int FormatVersion = 1;

    public int Format { get; init; } = FormatVersion;
    public required string DatasetId { get; init; }
    public required string VersionId { get; init; }
    public int Number { get; init; }
    public DateTime SealedAt { get; init; }
    public required DatasetSplit Split { get; init; }
    public required IReadOnlyList<ManifestShard> Shards { get; init; }
    public long Documents { get; init; }
    public long Bytes { get; init; }
    /// <summary>Documents dropped by cleaning in the batches this version holds, per reason.</summary>
    public IReadOnlyDictionary<string, long> Dropped { get; init; } = new Dictionary<string, long>();
    /// <summary>The sources whose documents this version holds (lineage).</summary>
    public IReadOnlyList<string> Sources { get; init; } = [];
    /// <summary>Sources deleted before sealing, whose shards were left out.</summary>
    public IReadOnlyList<string> ExcludedSources { get; init; } = [];

    public static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { WriteIndented = true, DefaultIgnoreCondition = JsonIgnoreCondition.Never };

    public byte[] ToJson() => JsonSerializer.SerializeToUtf8Bytes(this, Json);

    public static DatasetManifest FromJson(ReadOnlySpan<byte> json)
    {
        var manifest = JsonSerializer.Deserialize<DatasetManifest>(json, Json) ?? throw new InvalidDataException("The manifest is empty.");
        if (manifest.Format != FormatVersion)
            throw new InvalidDataException($"Dataset manifest format {manifest.Format} is not supported (expected {FormatVersion}).");
        return manifest;
    }
}

public sealed record ManifestShard(string BatchId, string SourceId, string Key, long Documents, long Bytes);

/// <summary>
/// The deterministic train/validation split: a document is in validation when the first 8 bytes of its hash
/// ("h" in a clean shard line: the hex XxHash128 of its clean text), read big-endian, modulo 1,000,000, fall below
/// <see cref="ValidationFraction"/> × 1,000,000. The same document lands on the same side in every version.
/// </summary>
public sealed record DatasetSplit(double ValidationFraction)
{
    private const ulong Buckets = 1_000_000;

    public bool IsValidation(string documentHash)
    {
        if (documentHash.Length < 16)
            throw new ArgumentException("A document hash has at least 16 hex digits.", nameof(documentHash));
        Span<byte> prefix = stackalloc byte[8];
        Convert.FromHexString(documentHash.AsSpan(0, 16), prefix, out _, out _);
        return BinaryPrimitives.ReadUInt64BigEndian(prefix) % Buckets < (ulong)Math.Round(ValidationFraction * Buckets);
    }
}
