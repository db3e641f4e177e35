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
/// Lines are parsed where they lie in the pipe's buffer and their text is copied as the raw JSON token, so a
/// document costs one validation pass and one copy.
/// </summary>
public static class JsonLinesReader
{
    private sealed class State(LinePolicy policy, IngestionLimits limits, string? file)
    {
        public readonly byte[] TextField = System.Text.Encoding.UTF8.GetBytes(policy.TextField);
        public readonly List<LineError> Errors = [];
        public long Lines, Documents, Bad;
        public bool SkippingLongLine;
        public byte[] Scratch = new byte[4096];

        /// <summary>Counts a bad line; returns false when the policy says to stop.</summary>
        public bool Reject(string reason)
        {
            Bad++;
            if (Errors.Count < limits.MaxErrorsReported)
                Errors.Add(new LineError(Lines, reason, file));
            return !policy.Strict;
        }
    }

    public static async Task<JsonLinesSummary> ReadAsync(PipeReader input, BatchAccumulator output, LinePolicy policy, IngestionLimits limits, CancellationToken cancellationToken, string? file = null)
    {
        var state = new State(policy, limits, file);
        while (true)
        {
            var result = await input.ReadAsync(cancellationToken);
            var buffer = result.Buffer;
            while (true)
            {
                var (stop, full) = ProcessLines(ref buffer, output, state, policy, limits, result.IsCompleted);
                if (stop)
                {
                    input.AdvanceTo(buffer.End);
                    return Summary(state, fatal: true);
                }
                if (!full)
                    break;
                await output.FlushAsync(cancellationToken);
            }
            if (result.IsCompleted)
            {
                input.AdvanceTo(buffer.End);
                break;
            }
            input.AdvanceTo(buffer.Start, buffer.End);
        }
        await input.CompleteAsync();
        return Summary(state, fatal: false);
    }

    private static JsonLinesSummary Summary(State state, bool fatal) =>
        new(state.Lines, state.Documents, state.Bad, state.Errors, fatal ? state.Errors[^1] : null);

    /// <summary>
    /// Handles the complete lines in <paramref name="buffer"/> (and, at the end of input, the last unterminated one),
    /// advancing it past them. Returns early when the batch is full (the caller flushes and calls again) or when a
    /// bad line stops a strict read.
    /// </summary>
    private static (bool Stop, bool Full) ProcessLines(ref ReadOnlySequence<byte> buffer, BatchAccumulator output, State state, LinePolicy policy, IngestionLimits limits, bool endOfInput)
    {
        while (true)
        {
            ReadOnlySequence<byte> line;
            var newline = buffer.PositionOf((byte)'\n');
            if (newline is { } end)
            {
                line = buffer.Slice(0, end);
                buffer = buffer.Slice(buffer.GetPosition(1, end));
                if (state.SkippingLongLine)
                {
                    state.SkippingLongLine = false;
                    continue;
                }
            }
            else if (!state.SkippingLongLine && buffer.Length > limits.MaxLineBytes)
            {
                // The rest of an over-long line is dropped as it arrives rather than buffered.
                state.Lines++;
                if (!state.Reject($"the line is longer than {limits.MaxLineBytes} bytes"))
                    return (true, false);
                state.SkippingLongLine = true;
                buffer = buffer.Slice(buffer.End);
                return (false, false);
            }
            else if (state.SkippingLongLine)
            {
                buffer = buffer.Slice(buffer.End);
                return (false, false);
            }
            else if (endOfInput && buffer.Length > 0)
            {
                line = buffer;
                buffer = buffer.Slice(buffer.End);
            }
            else
            {
                return (false, false);
            }

            state.Lines++;
            if (line.Length > limits.MaxLineBytes)
            {
                if (!state.Reject($"the line is longer than {limits.MaxLineBytes} bytes"))
                    return (true, false);
                continue;
            }
            ReadOnlySpan<byte> bytes;
            if (line.IsSingleSegment)
            {
                bytes = line.FirstSpan;
            }
            else
            {
                if (state.Scratch.Length < line.Length)
                    state.Scratch = new byte[Math.Max((int)line.Length, state.Scratch.Length * 2)];
                line.CopyTo(state.Scratch);
                bytes = state.Scratch.AsSpan(0, (int)line.Length);
            }
            if (bytes.Length > 0 && bytes[^1] == (byte)'\r')
                bytes = bytes[..^1];
            if (bytes.IndexOfAnyExcept(" \t"u8) < 0)
                continue;
            if (Parse(bytes, state.TextField, policy.TextField) is { } problem)
            {
                if (!state.Reject(problem))
                    return (true, false);
                continue;
            }
            state.Documents++;
            if (output.IsFull)
                return (false, true);
        }

        string? Parse(ReadOnlySpan<byte> json, byte[] textField, string textFieldName)
        {
            if (!Utf8.IsValid(json))
                return "the line is not valid UTF-8";
            var reader = new Utf8JsonReader(json, new JsonReaderOptions { MaxDepth = 64 });
            (int Start, int Length) text = (-1, 0), id = (-1, 0);
            try
            {
                if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
                    return "the line is not a JSON object";
                while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
                {
                    var isText = reader.ValueTextEquals(textField);
                    var isId = !isText && reader.ValueTextEquals("id"u8);
                    reader.Read();
                    if (isText || isId)
                    {
                        if (reader.TokenType != JsonTokenType.String)
                            return isText ? $"\"{textFieldName}\" is not a string" : "\"id\" is not a string";
                        if (isText && reader.ValueSpan.Length == 0)
                            return $"\"{textFieldName}\" is empty";
                        // The raw token, quotes included, is copied as it came: no decoding, no re-escaping.
                        var start = (int)reader.TokenStartIndex;
                        var token = (start, (int)reader.BytesConsumed - start);
                        if (isText)
                            text = token;
                        else
                            id = token;
                    }
                    else
                    {
                        reader.Skip();
                    }
                }
                if (reader.TokenType != JsonTokenType.EndObject || reader.Read())
                    return "the line holds more than one JSON value";
            }
            catch (JsonException e)
            {
                return $"malformed JSON at byte {e.BytePositionInLine + 1}";
            }
            if (text.Start < 0)
                return $"the object has no \"{textFieldName}\" field";
            output.AddJsonText(json.Slice(text.Start, text.Length), id.Start < 0 ? default : json.Slice(id.Start, id.Length));
            return null;
        }
    }
}
