using System.IO.Pipelines;
using System.Runtime.CompilerServices;
using Minio;
using Minio.DataModel.Args;
using Minio.Exceptions;

namespace Forge.Storage.Artifacts;

public sealed record S3Options
{
    /// <summary>host:port of the S3 endpoint, e.g. minio:9000.</summary>
    public string Endpoint { get; init; } = "localhost:9000";
    public string AccessKey { get; init; } = "minioadmin";
    public string SecretKey { get; init; } = "minioadmin";
    public string Bucket { get; init; } = "forge";
    public bool UseSsl { get; init; }
    public string Region { get; init; } = "us-east-1";
}

/// <summary>
/// Artifacts in one S3 bucket through the MinIO SDK. S3 makes an object visible only when its upload
/// completes, which gives the store's all-or-nothing guarantee.
/// </summary>
public sealed class S3ArtifactStore : IArtifactStore, IDisposable
{
    private readonly IMinioClient _client;
    private readonly string _bucket;
    private readonly SemaphoreSlim _bucketGate = new(1, 1);
    private volatile bool _bucketReady;

    public S3ArtifactStore(S3Options options)
    {
        var (host, port) = SplitEndpoint(options.Endpoint);
        _client = new MinioClient()
            .WithEndpoint(host, port)
            .WithCredentials(options.AccessKey, options.SecretKey)
            .WithRegion(options.Region)
            .WithSSL(options.UseSsl)
            .Build();
        _bucket = options.Bucket;
    }

    public async Task<ArtifactInfo> PutAsync(string key, Stream content, CancellationToken cancellationToken = default)
    {
        ArtifactKey.Validate(key);
        await EnsureBucketAsync(cancellationToken).ConfigureAwait(false);
        // S3 needs the size up front. A stream of unknown length is spooled to a temporary file rather than
        // handed to the SDK with size -1, which would buffer parts of up to 5 TiB / 10,000 in memory.
        Stream? spool = null;
        try
        {
            var source = content;
            if (!content.CanSeek)
            {
                spool = new FileStream(Path.GetTempFileName(), FileMode.Open, FileAccess.ReadWrite, FileShare.None, 1 << 16, FileOptions.DeleteOnClose | FileOptions.Asynchronous);
                await content.CopyToAsync(spool, 1 << 16, cancellationToken).ConfigureAwait(false);
                spool.Position = 0;
                source = spool;
            }
            var size = source.Length - source.Position;
            await _client.PutObjectAsync(new PutObjectArgs()
                .WithBucket(_bucket)
                .WithObject(key)
                .WithStreamData(source)
                .WithObjectSize(size)
                .WithContentType("application/octet-stream"), cancellationToken).ConfigureAwait(false);
            return new ArtifactInfo(key, size, DateTime.UtcNow);
        }
        finally
        {
            if (spool is not null)
                await spool.DisposeAsync().ConfigureAwait(false);
        }
    }

    public async Task<Stream> OpenReadAsync(string key, CancellationToken cancellationToken = default)
    {
        if (await StatAsync(key, cancellationToken).ConfigureAwait(false) is null)
            throw new ArtifactNotFoundException(key);
        // The SDK hands the body to a callback; a pipe turns that into a stream the caller reads at its own
        // pace, with back-pressure, so a large object never sits in memory whole.
        var pipe = new Pipe(new PipeOptions(pauseWriterThreshold: 1 << 20, resumeWriterThreshold: 1 << 19));
        _ = Task.Run(async () =>
        {
            try
            {
                await _client.GetObjectAsync(new GetObjectArgs()
                    .WithBucket(_bucket)
                    .WithObject(key)
                    .WithCallbackStream(async (body, ct) =>
                    {
                        await body.CopyToAsync(pipe.Writer, ct).ConfigureAwait(false);
                    }), CancellationToken.None).ConfigureAwait(false);
                await pipe.Writer.CompleteAsync().ConfigureAwait(false);
            }
            catch (Exception e)
            {
                await pipe.Writer.CompleteAsync(e is ObjectNotFoundException ? new ArtifactNotFoundException(key) : e).ConfigureAwait(false);
            }
        }, CancellationToken.None);
        return pipe.Reader.AsStream();
    }

    public async Task<ArtifactInfo?> StatAsync(string key, CancellationToken cancellationToken = default)
    {
        ArtifactKey.Validate(key);
        await EnsureBucketAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var stat = await _client.StatObjectAsync(new StatObjectArgs().WithBucket(_bucket).WithObject(key), cancellationToken).ConfigureAwait(false);
            return new ArtifactInfo(key, stat.Size, stat.LastModified.ToUniversalTime());
        }
        catch (ObjectNotFoundException)
        {
            return null;
        }
    }

    public async IAsyncEnumerable<ArtifactInfo> ListAsync(string prefix, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArtifactKey.ValidatePrefix(prefix);
        await EnsureBucketAsync(cancellationToken).ConfigureAwait(false);
        var args = new ListObjectsArgs().WithBucket(_bucket).WithPrefix(prefix).WithRecursive(true);
        var items = new List<ArtifactInfo>();
        await foreach (var item in _client.ListObjectsEnumAsync(args, cancellationToken).ConfigureAwait(false))
        {
            if (!item.IsDir)
                items.Add(new ArtifactInfo(item.Key, (long)item.Size, item.LastModifiedDateTime?.ToUniversalTime() ?? DateTime.MinValue));
        }
        // S3 lists in UTF-8 byte order; sort ordinally so every store returns the same order.
        foreach (var item in items.OrderBy(i => i.Key, StringComparer.Ordinal))
            yield return item;
    }

    public async Task<bool> DeleteAsync(string key, CancellationToken cancellationToken = default)
    {
        if (await StatAsync(key, cancellationToken).ConfigureAwait(false) is null)
            return false;
        await _client.RemoveObjectAsync(new RemoveObjectArgs().WithBucket(_bucket).WithObject(key), cancellationToken).ConfigureAwait(false);
        return true;
    }

    public async Task PingAsync(CancellationToken cancellationToken = default)
    {
        _bucketReady = false;
        await EnsureBucketAsync(cancellationToken).ConfigureAwait(false);
    }

    public void Dispose()
    {
        _bucketGate.Dispose();
        (_client as IDisposable)?.Dispose();
    }

    private async Task EnsureBucketAsync(CancellationToken cancellationToken)
    {
        if (_bucketReady)
            return;
        await _bucketGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_bucketReady)
                return;
            var exists = await _client.BucketExistsAsync(new BucketExistsArgs().WithBucket(_bucket), cancellationToken).ConfigureAwait(false);
            if (!exists)
                await _client.MakeBucketAsync(new MakeBucketArgs().WithBucket(_bucket), cancellationToken).ConfigureAwait(false);
            _bucketReady = true;
        }
        finally
        {
            _bucketGate.Release();
        }
    }

    private static (string Host, int Port) SplitEndpoint(string endpoint)
    {
        var trimmed = endpoint.Replace("http://", "", StringComparison.OrdinalIgnoreCase).Replace("https://", "", StringComparison.OrdinalIgnoreCase).TrimEnd('/');
        var colon = trimmed.LastIndexOf(':');
        if (colon > 0 && int.TryParse(trimmed[(colon + 1)..], out var port))
            return (trimmed[..colon], port);
        return (trimmed, 9000);
    }
}
