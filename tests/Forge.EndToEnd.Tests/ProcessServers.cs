using Forge.Storage.Artifacts;
using Forge.Testing;
using Forge.Tokenization;

namespace Forge.EndToEnd.Tests;

/// <summary>
/// RabbitMQ and the S3 test endpoint for tests that start service processes of their own: a bus prefix and a bucket
/// for this run, the settings every such process shares, and the character-level token shards the trainers read.
/// </summary>
public sealed class ProcessServers : IDisposable
{
    /// <summary>A short text repeated into shards: a tiny model learns it, so runs are quick.</summary>
    public const string Corpus = "the quick brown fox jumps over the lazy dog. a stitch in time saves nine. ";

    private ProcessServers(string rabbit, string s3, string bucket, string prefix)
    {
        Environment = new Dictionary<string, string>
        {
            ["Forge__Bus"] = "rabbitmq",
            ["Forge__RabbitMq__Host"] = rabbit.Split(':')[0],
            ["Forge__RabbitMq__QueueExpiry"] = TestServers.QueueExpiry,
            ["Forge__RabbitMq__Port"] = rabbit.Split(':')[1],
            ["Forge__BusPrefix"] = prefix,
            ["Forge__Artifacts"] = "s3",
            ["Forge__S3__Endpoint"] = s3,
            ["Forge__S3__Bucket"] = bucket,
            ["Forge__S3__AccessKey"] = "test",
            ["Forge__S3__SecretKey"] = "test",
        };
        Artifacts = new S3ArtifactStore(new S3Options { Endpoint = s3, Bucket = bucket, AccessKey = "test", SecretKey = "test" });
    }

    /// <summary>The servers under bucket <c>forge-{name}-{run}</c> and bus prefix <c>{name}-{run}</c>, or why they cannot be reached.</summary>
    public static (ProcessServers? Servers, string? SkipReason) Find(string name, string run)
    {
        var (rabbit, rabbitReason) = TestServers.RabbitMq();
        var (s3, s3Reason) = TestServers.S3();
        if (rabbit is null || s3 is null)
            return (null, rabbit is null ? rabbitReason : s3Reason);
        return (new ProcessServers(rabbit, s3, $"forge-{name}-{run}", $"{name}-{run}"), null);
    }

    /// <summary>The bus and artifact-store settings, to which a process adds its own.</summary>
    public IReadOnlyDictionary<string, string> Environment { get; }

    public S3ArtifactStore Artifacts { get; }

    /// <summary>Writes <see cref="Corpus"/>, repeated, as a token shard of one character per token.</summary>
    public async Task UploadShardAsync(string key, int repeats, string tokenizerId)
    {
        var alphabet = Corpus.Distinct().Order().ToList();
        using var buffer = new MemoryStream();
        using (var writer = new TokenShardWriter(buffer, alphabet.Count, alphabet.IndexOf(' '), tokenizerId))
        {
            writer.AppendDocument(string.Concat(Enumerable.Repeat(Corpus, repeats)).Select(c => alphabet.IndexOf(c)).ToArray());
            writer.Complete();
        }
        await Artifacts.PutBytesAsync(key, buffer.ToArray());
    }

    public void Dispose() => Artifacts.Dispose();
}
