using Microsoft.Extensions.Logging;

namespace Forge.Ingestion.Domain;

/// <summary>A named file that was left out, and why.</summary>
public sealed record SkippedFile(string Path, string Reason);

/// <summary>What reading local files stored: every batch of theirs (new, or found from an earlier read), and the files left out.</summary>
public sealed record LocalFilesReceipt(IReadOnlyList<Batch> Batches, IReadOnlyList<SkippedFile> Skipped)
{
    public long Documents => Batches.Sum(b => (long)b.Documents);
    public long Bytes => Batches.Sum(b => b.Bytes);
}

/// <summary>The files cannot be ingested as asked, and asking again will not change that.</summary>
public sealed class FilesRefusedException(string reason) : Exception(reason);

/// <summary>
/// Ingests files on this service's own file system, as a build names them: folders are read recursively in ordinal
/// order, each file through the same extractors as an upload and committed through <see cref="BatchIngestor"/> in
/// batches of the configured size, so memory stays bounded however large the input. A batch's idempotency key is
/// (origin, file path, chunk number): reading the same files again for the same origin stores nothing new and
/// returns the batches stored before.
/// </summary>
public sealed class LocalFileIngestor(IngestionStore store, BatchIngestor ingestor, IngestionLimits limits, TimeProvider clock, ILogger<LocalFileIngestor> logger)
{
    private static readonly LinePolicy Lenient = new("text", Strict: false);

    /// <summary>Creates the dataset when missing and stores the files' documents; a file that cannot be read is skipped, not fatal.</summary>
    /// <exception cref="FilesRefusedException">an invalid dataset id or separator, a path that does not exist, or no document at all.</exception>
    public async Task<LocalFilesReceipt> IngestAsync(string datasetId, IReadOnlyList<string> paths, string? separator, string origin, CancellationToken cancellationToken)
    {
        if (!DatasetIds.IsValid(datasetId))
            throw new FilesRefusedException($"datasetId: {DatasetIds.Rule}");
        if (separator is not null && (string.IsNullOrWhiteSpace(separator) || separator.AsSpan().ContainsAny('\r', '\n')))
            throw new FilesRefusedException("separator: must be text on one line, such as \"%\".");
        var files = FilesUnder(await DownloadAsync(paths, cancellationToken));
        await store.Datasets.TryInsertAsync(new Dataset { Id = datasetId, Description = $"Created for {origin}", CreatedAt = clock.GetUtcNow().UtcDateTime }, cancellationToken);

        var batches = new List<Batch>();
        var skipped = new List<SkippedFile>();
        foreach (var file in files)
        {
            var (outcomes, skipReason) = await IngestFileAsync(datasetId, file, separator?.Trim(), origin, cancellationToken);
            if (skipReason is not null)
            {
                logger.LogWarning("Skipped {Path} for dataset {DatasetId}: {Reason}", file, datasetId, skipReason);
                skipped.Add(new SkippedFile(file, skipReason));
            }
            batches.AddRange(outcomes.Select(o => o.Batch));
        }
        var receipt = new LocalFilesReceipt(batches, skipped);
        if (receipt.Documents == 0)
        {
            var reasons = skipped.Count == 0 ? "" : ": " + string.Join("; ", skipped.Take(5).Select(s => s.Reason));
            throw new FilesRefusedException($"No documents in {files.Count} files ({skipped.Count} skipped){reasons}");
        }
        return receipt;
    }

    private static readonly HttpClient Downloads = new() { Timeout = TimeSpan.FromMinutes(10) };

    /// <summary>
    /// The paths with every http(s) URL replaced by a local copy of what it serves. The copy's place derives from the
    /// URL (a hash, then the URL's file name), so a repeated command reads the same path and stores nothing new.
    /// </summary>
    private async Task<IReadOnlyList<string>> DownloadAsync(IReadOnlyList<string> paths, CancellationToken cancellationToken)
    {
        var local = new List<string>(paths.Count);
        foreach (var path in paths)
        {
            if (!Uri.TryCreate(path, UriKind.Absolute, out var url) || (url.Scheme != Uri.UriSchemeHttp && url.Scheme != Uri.UriSchemeHttps))
            {
                local.Add(path);
                continue;
            }
            var hash = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(url.AbsoluteUri)))[..16];
            var name = Path.GetFileName(url.AbsolutePath) is { Length: > 0 } last ? last : "download.txt";
            var folder = Path.Combine(Path.GetTempPath(), "forge-downloads", hash);
            var target = Path.Combine(folder, name);
            Directory.CreateDirectory(folder);
            try
            {
                using var response = await Downloads.GetAsync(url, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
                if (!response.IsSuccessStatusCode)
                    throw new FilesRefusedException($"{url} answered {(int)response.StatusCode} {response.ReasonPhrase}");
                if (response.Content.Headers.ContentLength > limits.MaxStreamBytes)
                    throw new FilesRefusedException($"{url} is {response.Content.Headers.ContentLength} bytes, more than Ingestion:MaxStreamBytes ({limits.MaxStreamBytes})");
                var partial = target + ".part";
                await using (var file = File.Create(partial))
                await using (var body = await response.Content.ReadAsStreamAsync(cancellationToken))
                {
                    var buffer = new byte[1 << 16];
                    long total = 0;
                    int read;
                    while ((read = await body.ReadAsync(buffer, cancellationToken)) > 0)
                    {
                        total += read;
                        if (total > limits.MaxStreamBytes)
                            throw new FilesRefusedException($"{url} is more than Ingestion:MaxStreamBytes ({limits.MaxStreamBytes}) bytes");
                        await file.WriteAsync(buffer.AsMemory(0, read), cancellationToken);
                    }
                }
                File.Move(partial, target, overwrite: true);
                logger.LogInformation("Downloaded {Url} to {Path} ({Bytes:N0} bytes)", url, target, new FileInfo(target).Length);
            }
            catch (HttpRequestException e)
            {
                throw new FilesRefusedException($"{url} could not be downloaded: {e.Message}");
            }
            local.Add(target);
        }
        return local;
    }

    /// <summary>
    /// The files the paths name, each folder's in ordinal order. Left out: a link to a file that is read anyway (as
    /// fortune's *.u8 links are), and a *.dat beside a file of the same name (fortune's binary index of it).
    /// </summary>
    private List<string> FilesUnder(IReadOnlyList<string> paths)
    {
        if (paths.Count == 0)
            throw new FilesRefusedException("paths: name at least one file or folder.");
        var missing = paths.Where(p => !File.Exists(p) && !Directory.Exists(p)).ToList();
        if (missing.Count > 0)
            throw new FilesRefusedException($"Not found on the ingestion service: {string.Join(", ", missing)}");

        var named = new List<string>();
        foreach (var path in paths.Select(Path.GetFullPath))
        {
            if (Directory.Exists(path))
                named.AddRange(Directory.EnumerateFiles(path, "*", new EnumerationOptions { RecurseSubdirectories = true, IgnoreInaccessible = true }).Order(StringComparer.Ordinal));
            else
                named.Add(path);
        }
        named = [.. named.Distinct(StringComparer.Ordinal)];
        var present = named.ToHashSet(StringComparer.Ordinal);
        var read = named.Where(f => new FileInfo(f).LinkTarget is null).ToHashSet(StringComparer.Ordinal);
        var files = new List<string>();
        foreach (var file in named)
        {
            if (file.EndsWith(".dat", StringComparison.Ordinal) && present.Contains(file[..^4]))
            {
                logger.LogDebug("Left out {Path}: the index of {Text}", file, file[..^4]);
                continue;
            }
            if (new FileInfo(file).ResolveLinkTarget(returnFinalTarget: true) is { } target && !read.Add(target.FullName))
            {
                logger.LogDebug("Left out {Path}: a link to {Target}, which is read once", file, target.FullName);
                continue;
            }
            files.Add(file);
        }
        return files;
    }

    /// <summary>Reads one file into batches (committed together at its end), or says why it was skipped.</summary>
    private async Task<(IReadOnlyList<IngestOutcome> Outcomes, string? SkipReason)> IngestFileAsync(string datasetId, string path, string? separator, string origin, CancellationToken cancellationToken)
    {
        var name = Path.GetFileName(path);
        FileStream file;
        try
        {
            FileExtractor.Describe(name, anyText: separator is not null);
            file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.Asynchronous | FileOptions.SequentialScan);
        }
        catch (Exception e) when (e is UnsupportedFileException or IOException or UnauthorizedAccessException)
        {
            return ([], e.Message);
        }
        await using (file)
        {
            Source source;
            try
            {
                source = await ingestor.EnsureSourceAsync(datasetId, name, "file", $"file:{path}", cancellationToken);
            }
            catch (SourceDeletedException e)
            {
                return ([], e.Message);
            }
            // Deferred: a file that turns out unreadable halfway leaves nothing behind.
            using var batches = new BatchAccumulator(ingestor, datasetId, source, $"{origin}:{path}", limits, deferred: true);
            try
            {
                var summary = await FileExtractor.ExtractAsync(name, file, batches, Lenient, limits, cancellationToken, separator);
                if (summary.Errors is [var first, ..])
                    logger.LogWarning("{Path}: skipped {BadLines} bad lines; the first, line {Line}: {Reason}", path, summary.BadLines, first.Line, first.Reason);
            }
            catch (UnsupportedFileException e)
            {
                return ([], e.Message);
            }
            var outcomes = await batches.CompleteAsync(cancellationToken);
            logger.LogInformation("Read {Path} into dataset {DatasetId}: {Documents} documents in {Batches} batches, {Created} of them new",
                path, datasetId, batches.DocumentsAccepted, outcomes.Count, outcomes.Count(o => o.Created));
            return (outcomes, null);
        }
    }
}
