using System.Buffers;
using System.IO.Pipelines;
using System.Text.Json;
using System.Text.Unicode;

namespace Forge.Ingestion.Domain;

/// <summary>How to treat bad lines: skip and report them (the default), or refuse the whole request.</summary>
public sealed record LinePolicy(string TextField, bool Strict);

public sealed record JsonLinesSummary(long Lines, long Documents, long BadLines, IReadOnlyList<LineError> Errors, LineError? FirstFatal);

/// <summary>
/// Reads NDJSON / JSONL from a pipe, one document per line, without holding more than one line in memory.
/// A line is a JSON object whose text field is a non-empty string; an optional string "id" is kept. Blank lines
/// are ignored. Each bad line is counted and reported with its 1-based line number and the reason.
/// </summary>
public static class JsonLinesReader
{
    public static async Task<JsonLinesSummary> ReadAsync(PipeReader input, BatchAccumulator output, LinePolicy policy, IngestionLimits limits, CancellationToken cancellationToken, string? file = null)
    {
        var errors = new List<LineError>();
        long lines = 0, documents = 0, bad = 0;
        var skippingLongLine = false;
        var textField = System.Text.Encoding.UTF8.GetBytes(policy.TextField);

        async Task<bool> HandleAsync(ReadOnlySequence<byte> line)
        {
            lines++;
            var reason = line.Length > limits.MaxLineBytes
                ? $"the line is longer than {limits.MaxLineBytes} bytes"
                : await AddLineAsync(line.IsSingleSegment ? line.FirstSpan.ToArray() : line.ToArray(), textField, policy, output, cancellationToken);
            if (reason is null)
            {
                documents += line.Length == 0 || IsBlank(line) ? 0 : 1;
                return true;
            }
            bad++;
            if (errors.Count < limits.MaxErrorsReported)
                errors.Add(new LineError(lines, reason, file));
            return !policy.Strict;
        }

        while (true)
        {
            var result = await input.ReadAsync(cancellationToken);
            var buffer = result.Buffer;
            while (true)
            {
                var newline = buffer.PositionOf((byte)'\n');
                if (newline is null)
                    break;
                var line = buffer.Slice(0, newline.Value);
                buffer = buffer.Slice(buffer.GetPosition(1, newline.Value));
                if (skippingLongLine)
                {
                    skippingLongLine = false;
                    continue;
                }
                if (!await HandleAsync(TrimCarriageReturn(line)))
                    return Fatal();
            }
            if (!skippingLongLine && buffer.Length > limits.MaxLineBytes)
            {
                // The rest of an over-long line is dropped as it arrives rather than buffered.
                lines++;
                bad++;
                if (errors.Count < limits.MaxErrorsReported)
                    errors.Add(new LineError(lines, $"the line is longer than {limits.MaxLineBytes} bytes", file));
                if (policy.Strict)
                    return Fatal();
                skippingLongLine = true;
            }
            if (skippingLongLine)
                buffer = buffer.Slice(buffer.End);
            if (result.IsCompleted)
            {
                if (!skippingLongLine && buffer.Length > 0 && !await HandleAsync(TrimCarriageReturn(buffer)))
                {
                    input.AdvanceTo(buffer.End);
                    return Fatal();
                }
                input.AdvanceTo(buffer.End);
                break;
            }
            input.AdvanceTo(buffer.Start, buffer.End);
        }
        await input.CompleteAsync();
        return new JsonLinesSummary(lines, documents, bad, errors, null);

        JsonLinesSummary Fatal() => new(lines, documents, bad, errors, errors[^1]);
    }

    private static bool IsBlank(ReadOnlySequence<byte> line)
    {
        foreach (var segment in line)
        {
            if (segment.Span.IndexOfAnyExcept(" \t"u8) >= 0)
                return false;
        }
        return true;
    }

    private static ReadOnlySequence<byte> TrimCarriageReturn(ReadOnlySequence<byte> line) =>
        line.Length > 0 && line.Slice(line.Length - 1).FirstSpan[0] == (byte)'\r' ? line.Slice(0, line.Length - 1) : line;

    /// <summary>Adds the line's document; returns why the line is bad, or null.</summary>
    private static async Task<string?> AddLineAsync(byte[] line, byte[] textField, LinePolicy policy, BatchAccumulator output, CancellationToken cancellationToken)
    {
        if (line.AsSpan().IndexOfAnyExcept(" \t"u8) < 0)
            return null;
        if (!Utf8.IsValid(line))
            return "the line is not valid UTF-8";
        var (text, id, problem) = Parse(line, textField, policy.TextField);
        if (problem is not null)
            return problem;
        await output.AddJsonTextAsync(line.AsSpan(text.Start, text.Length), id, cancellationToken);
        return null;
    }

    private static ((int Start, int Length) Text, string? Id, string? Problem) Parse(byte[] line, byte[] textField, string textFieldName)
    {
        var reader = new Utf8JsonReader(line, new JsonReaderOptions { MaxDepth = 64 });
        (int Start, int Length) text = (-1, 0);
        string? id = null;
        try
        {
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
                return (text, null, "the line is not a JSON object");
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var isText = reader.ValueTextEquals(textField);
                var isId = !isText && reader.ValueTextEquals("id"u8);
                reader.Read();
                if (isText)
                {
                    if (reader.TokenType != JsonTokenType.String)
                        return (text, null, $"\"{textFieldName}\" is not a string");
                    if (reader.ValueSpan.Length == 0)
                        return (text, null, $"\"{textFieldName}\" is empty");
                    // The raw token, quotes included, is copied as it came: no decoding, no re-escaping.
                    var start = (int)reader.TokenStartIndex;
                    text = (start, (int)reader.BytesConsumed - start);
                }
                else if (isId)
                {
                    if (reader.TokenType != JsonTokenType.String)
                        return (text, null, "\"id\" is not a string");
                    id = reader.GetString();
                }
                else
                {
                    reader.Skip();
                }
            }
            if (reader.TokenType != JsonTokenType.EndObject || reader.Read())
                return (text, null, "the line holds more than one JSON value");
        }
        catch (JsonException e)
        {
            return (text, null, $"malformed JSON at byte {e.BytePositionInLine + 1}");
        }
        return text.Start < 0 ? (text, null, $"the object has no \"{textFieldName}\" field") : (text, id, null);
    }
}
