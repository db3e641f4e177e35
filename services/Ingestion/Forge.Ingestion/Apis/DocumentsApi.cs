using System.Text;
using System.Text.RegularExpressions;
using Forge.Ingestion.Domain;
using Forge.ServiceDefaults;
using Forge.Storage.Artifacts;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Extensions.Primitives;
using Microsoft.Net.Http.Headers;

namespace Forge.Ingestion.Apis;

/// <summary>What a streaming request stored: its batches and documents, and the lines it skipped, with the first errors.</summary>
public sealed record IngestionReceipt(
    string DatasetId,
    IReadOnlyList<string> Sources,
    IReadOnlyList<Batch> Batches,
    long Documents,
    long Lines,
    long BadLines,
    IReadOnlyList<LineError> Errors);

/// <summary>What every way of sending documents shares: the dataset, the source, the idempotency key and the services.</summary>
public sealed record IngestionCall(
    string DatasetId,
    HttpContext Http,
    [FromQuery(Name = "source")] string? Source,
    [FromHeader(Name = "Idempotency-Key")] string? IdempotencyKey,
    IngestionStore Store,
    BatchIngestor Ingestor,
    IngestionLimits Limits,
    CancellationToken CancellationToken);

/// <summary>The ways documents arrive: a JSON array, plain text, an NDJSON stream, uploaded files.</summary>
public static partial class DocumentsApi
{
    public static RouteGroupBuilder MapDocumentsApi(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/api/ingestion/datasets/{datasetId}").WithTags("Documents");
        group.MapPost("/documents", PostDocumentsAsync).WithName("PostDocuments")
            .WithSummary("Stores a JSON array of documents (strings or {text, id}) as one batch; an Idempotency-Key header makes retries store it once");
        group.MapPost("/text", PostTextAsync).WithName("PostText").WithSummary("Stores a text/plain body as a document (split at paragraphs when very long)");
        group.MapPost("/stream", PostStreamAsync).WithName("PostStream")
            .WithSummary("Streams NDJSON, one document per line, committed in batches while it arrives; ?strict=true refuses the whole stream on any bad line");
        group.MapPost("/files", PostFilesAsync).WithName("PostFiles").DisableAntiforgery()
            .WithSummary("Uploads files (multipart): .txt .md .html .pdf .jsonl, each optionally .gz or .zst");
        return group;
    }

    [GeneratedRegex(@"^[A-Za-z0-9][A-Za-z0-9._ -]{0,127}$")]
    private static partial Regex SourceNamePattern();

    [GeneratedRegex(@"^[A-Za-z_][A-Za-z0-9_]{0,63}$")]
    private static partial Regex FieldNamePattern();

    /// <summary>Checks what every ingestion request shares; returns a problem, or null when the request may go on.</summary>
    private static async Task<ProblemHttpResult?> PreconditionsAsync(IngestionCall call)
    {
        if (call.Source is not null && !SourceNamePattern().IsMatch(call.Source))
            return Problems.Invalid("source", "A source name is 1 to 128 letters, digits, spaces, '.', '_' or '-'.");
        if (call.IdempotencyKey is { Length: 0 or > 200 })
            return Problems.Invalid("Idempotency-Key", "The key must have 1 to 200 characters.");
        if (await call.Store.Datasets.GetAsync(call.DatasetId, call.CancellationToken) is null)
            return Problems.NotFound("dataset", call.DatasetId);
        return null;
    }

    private static async Task<Results<Accepted<Batch>, Ok<Batch>, ProblemHttpResult>> PostDocumentsAsync([AsParameters] IngestionCall call)
    {
        if (call.Http.Request.ContentType is { } contentType && !contentType.Contains("json", StringComparison.OrdinalIgnoreCase))
            return Problems.UnsupportedMediaType($"Send the documents as application/json, not {contentType}.");
        if (await PreconditionsAsync(call) is { } problem)
            return problem;

        // Kestrel enforces the body limit while this reads, answering 413 through the exception handler.
        using var body = new MemoryStream();
        await call.Http.Request.Body.CopyToAsync(body, call.CancellationToken);
        var (documents, error) = DocumentBatchParser.Parse(body.GetBuffer().AsMemory(0, (int)body.Length));
        if (error is not null)
            return error.Status == StatusCodes.Status400BadRequest ? Problems.BadRequest("Malformed request", error.Message) : Problems.Invalid(error.Field, error.Message);

        var origin = await call.Ingestor.EnsureSourceAsync(call.DatasetId, call.Source ?? "api", "json", null, call.CancellationToken);
        var oneBatch = new IngestionLimits { BatchDocuments = int.MaxValue, BatchBytes = int.MaxValue };
        using var accumulator = new BatchAccumulator(call.Ingestor, call.DatasetId, origin, call.IdempotencyKey, oneBatch, deferred: false);
        foreach (var document in documents!)
            await accumulator.AddTextAsync(document.Text, document.Id, call.CancellationToken);
        var outcome = (await accumulator.CompleteAsync(call.CancellationToken))[0];
        var location = $"/api/ingestion/datasets/{call.DatasetId}/batches/{outcome.Batch.Id}";
        return outcome.Created ? TypedResults.Accepted(location, outcome.Batch) : TypedResults.Ok(outcome.Batch);
    }

    private static async Task<Results<Accepted<IngestionReceipt>, Ok<IngestionReceipt>, ProblemHttpResult>> PostTextAsync([AsParameters] IngestionCall call)
    {
        if (call.Http.Request.ContentType is { } contentType && !contentType.StartsWith("text/", StringComparison.OrdinalIgnoreCase))
            return Problems.UnsupportedMediaType($"Send the text as text/plain, not {contentType}.");
        if (await PreconditionsAsync(call) is { } problem)
            return problem;
        using var reader = new StreamReader(call.Http.Request.Body, Encoding.UTF8);
        var text = await reader.ReadToEndAsync(call.CancellationToken);
        if (string.IsNullOrWhiteSpace(text))
            return Problems.BadRequest("Empty body", "The request body is empty; send the document's text.");

        var origin = await call.Ingestor.EnsureSourceAsync(call.DatasetId, call.Source ?? "text", "text", null, call.CancellationToken);
        using var accumulator = new BatchAccumulator(call.Ingestor, call.DatasetId, origin, call.IdempotencyKey, call.Limits, deferred: false);
        long documents = 0;
        foreach (var document in TextSplitter.Split(text, call.Limits.MaxDocumentBytes))
        {
            await accumulator.AddTextAsync(document, null, call.CancellationToken);
            documents++;
        }
        var outcomes = await accumulator.CompleteAsync(call.CancellationToken);
        return Receipt(call.DatasetId, [origin.Id], outcomes, documents, 0, 0, []);
    }

    private static async Task<Results<Accepted<IngestionReceipt>, Ok<IngestionReceipt>, ProblemHttpResult>> PostStreamAsync([AsParameters] IngestionCall call, [FromQuery] string? textField, [FromQuery] bool? strict)
    {
        if (call.Http.Request.ContentType is { } contentType && !contentType.Contains("json", StringComparison.OrdinalIgnoreCase))
            return Problems.UnsupportedMediaType($"Send NDJSON as application/x-ndjson, not {contentType}.");
        if (textField is not null && !FieldNamePattern().IsMatch(textField))
            return Problems.Invalid("textField", "The text field is a JSON property name of letters, digits and '_'.");
        if (await PreconditionsAsync(call) is { } problem)
            return problem;
        if (RaiseBodyLimit(call.Http, call.Limits) is { } tooLarge)
            return tooLarge;

        var origin = await call.Ingestor.EnsureSourceAsync(call.DatasetId, call.Source ?? "stream", "ndjson", null, call.CancellationToken);
        var policy = new LinePolicy(textField ?? "text", strict ?? false);
        using var accumulator = new BatchAccumulator(call.Ingestor, call.DatasetId, origin, call.IdempotencyKey, call.Limits, deferred: policy.Strict);
        JsonLinesSummary summary;
        try
        {
            summary = await JsonLinesReader.ReadAsync(call.Http.Request.BodyReader, accumulator, policy, call.Limits, call.CancellationToken);
        }
        catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            return TooLargeMidStream(call.Limits, accumulator.Outcomes);
        }
        if (summary.FirstFatal is { } fatal)
            return Problems.Invalid($"line {fatal.Line}", $"{fatal.Reason}; strict mode stored nothing.");
        var outcomes = await accumulator.CompleteAsync(call.CancellationToken);
        return Receipt(call.DatasetId, [origin.Id], outcomes, summary.Documents, summary.Lines, summary.BadLines, summary.Errors);
    }

    /// <summary>
    /// The next part of a multipart body. A body that ends before its closing boundary makes the reader throw an
    /// IOException: that is the client's malformed body (400), not a server failure.
    /// </summary>
    private static async Task<MultipartSection?> NextSectionAsync(MultipartReader reader, CancellationToken cancellationToken)
    {
        try
        {
            return await reader.ReadNextSectionAsync(cancellationToken);
        }
        catch (IOException e) when (!cancellationToken.IsCancellationRequested)
        {
            throw new InvalidDataException(e.Message, e);
        }
    }

    private static async Task<Results<Accepted<IngestionReceipt>, Ok<IngestionReceipt>, ProblemHttpResult>> PostFilesAsync([AsParameters] IngestionCall call, [FromQuery] string? textField, [FromQuery] bool? strict, IArtifactStore artifacts)
    {
        if (!MediaTypeHeaderValue.TryParse(call.Http.Request.ContentType, out var mediaType) || !mediaType.MediaType.Equals("multipart/form-data", StringComparison.OrdinalIgnoreCase)
            || HeaderUtilities.RemoveQuotes(mediaType.Boundary) is not { Length: > 0 } boundary)
            return Problems.UnsupportedMediaType("Upload files as multipart/form-data.");
        if (textField is not null && !FieldNamePattern().IsMatch(textField))
            return Problems.Invalid("textField", "The text field is a JSON property name of letters, digits and '_'.");
        if (await PreconditionsAsync(call) is { } problem)
            return problem;
        if (RaiseBodyLimit(call.Http, call.Limits) is { } tooLarge)
            return tooLarge;

        var policy = new LinePolicy(textField ?? "text", strict ?? false);
        var uploadId = Guid.CreateVersion7().ToString("N");
        var files = new List<(string Name, Stream Spool, BatchAccumulator Batches, Source Source)>();
        var errors = new List<LineError>();
        long documents = 0, lines = 0, badLines = 0;
        try
        {
            var reader = new MultipartReader(boundary.ToString(), call.Http.Request.Body) { BodyLengthLimit = null };
            while (await NextSectionAsync(reader, call.CancellationToken) is { } section)
            {
                if (!ContentDispositionHeaderValue.TryParse(section.ContentDisposition, out var disposition) || !disposition.IsFileDisposition())
                    continue;
                var name = Path.GetFileName((disposition.FileNameStar.HasValue ? disposition.FileNameStar : disposition.FileName).ToString().Trim('"'));
                var index = files.Count;
                try
                {
                    FileExtractor.Describe(name);
                }
                catch (UnsupportedFileException e)
                {
                    if (policy.Strict)
                        return Problems.Invalid($"files[{index}]", $"{e.Message} Strict mode stored nothing.");
                    errors.Add(new LineError(0, e.Message, name));
                    continue;
                }
                // Spooled to disk, so neither a large file nor the original kept for lineage sits in memory.
                var spool = new FileStream(Path.GetTempFileName(), FileMode.Open, FileAccess.ReadWrite, FileShare.None, 1 << 16, FileOptions.DeleteOnClose | FileOptions.Asynchronous);
                await section.Body.CopyToAsync(spool, call.CancellationToken);
                spool.Position = 0;
                var origin = await call.Ingestor.EnsureSourceAsync(call.DatasetId, call.Source ?? name, "file", $"upload:{uploadId}/{name}", call.CancellationToken);
                var batches = new BatchAccumulator(call.Ingestor, call.DatasetId, origin, call.IdempotencyKey is null ? null : $"{call.IdempotencyKey}/{index}", call.Limits, deferred: true);
                files.Add((name, spool, batches, origin));
                try
                {
                    var summary = await FileExtractor.ExtractAsync(name, spool, batches, policy, call.Limits, call.CancellationToken);
                    documents += summary.Documents;
                    lines += summary.Lines;
                    badLines += summary.BadLines;
                    errors.AddRange(summary.Errors.Take(call.Limits.MaxErrorsReported - errors.Count));
                    if (summary.FirstFatal is { } fatal)
                        return Problems.Invalid($"{name}: line {fatal.Line}", $"{fatal.Reason}; strict mode stored nothing.");
                }
                catch (UnsupportedFileException e)
                {
                    if (policy.Strict)
                        return Problems.Invalid($"files[{index}]", $"{e.Message} Strict mode stored nothing.");
                    errors.Add(new LineError(0, e.Message, name));
                }
            }
            if (files.Count == 0)
                return Problems.Invalid("files", errors.Count > 0 ? errors[0].Reason : "The request holds no file.");

            var outcomes = new List<IngestOutcome>();
            foreach (var (name, spool, batches, _) in files)
            {
                spool.Position = 0;
                await artifacts.PutAsync($"datasets/{call.DatasetId}/uploads/{uploadId}/{name}", spool, call.CancellationToken);
                outcomes.AddRange(await batches.CompleteAsync(call.CancellationToken));
            }
            return Receipt(call.DatasetId, files.Select(f => f.Source.Id).Distinct().ToList(), outcomes, documents, lines, badLines, errors);
        }
        catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            return TooLargeMidStream(call.Limits, []);
        }
        catch (InvalidDataException e)
        {
            return Problems.BadRequest("Malformed multipart body", e.Message);
        }
        finally
        {
            foreach (var (_, spool, batches, _) in files)
            {
                batches.Dispose();
                await spool.DisposeAsync();
            }
        }
    }

    /// <summary>Streams and uploads may be far larger than other requests; a declared length over the limit is refused before reading.</summary>
    private static ProblemHttpResult? RaiseBodyLimit(HttpContext http, IngestionLimits limits)
    {
        if (http.Request.ContentLength > limits.MaxStreamBytes)
            return TooLarge(limits, $"The body declares {http.Request.ContentLength} bytes; the limit is {limits.MaxStreamBytes} (Ingestion:MaxStreamBytes).");
        if (http.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } size)
            size.MaxRequestBodySize = limits.MaxStreamBytes;
        return null;
    }

    private static ProblemHttpResult TooLargeMidStream(IngestionLimits limits, IReadOnlyList<IngestOutcome> committed) =>
        TypedResults.Problem(
            title: "Request body too large",
            detail: $"The stream passed {limits.MaxStreamBytes} bytes (Ingestion:MaxStreamBytes). {committed.Count} complete batches were stored before that and are listed; nothing after them was.",
            statusCode: StatusCodes.Status413PayloadTooLarge,
            extensions: new Dictionary<string, object?> { ["storedBatches"] = committed.Select(o => o.Batch.Id).ToList() });

    private static ProblemHttpResult TooLarge(IngestionLimits limits, string detail) =>
        TypedResults.Problem(title: "Request body too large", detail: detail, statusCode: StatusCodes.Status413PayloadTooLarge);

    private static Results<Accepted<IngestionReceipt>, Ok<IngestionReceipt>, ProblemHttpResult> Receipt(
        string datasetId, IReadOnlyList<string> sources, IReadOnlyList<IngestOutcome> outcomes, long documents, long lines, long badLines, IReadOnlyList<LineError> errors)
    {
        var receipt = new IngestionReceipt(datasetId, sources, outcomes.Select(o => o.Batch).ToList(), documents, lines, badLines, errors);
        return outcomes.Any(o => o.Created) || outcomes.Count == 0
            ? TypedResults.Accepted($"/api/ingestion/datasets/{datasetId}", receipt)
            : TypedResults.Ok(receipt);
    }
}
