using System.Text;
using System.Text.Json;
using System.Text.Unicode;

namespace Forge.Evaluator.Domain;

/// <summary>
/// Reads an eval set from JSONL: one <c>{"prompt": "...", "references": ["...", ...], "id"?: "..."}</c> object per
/// line; blank lines are skipped and other fields ignored. The first bad line refuses the whole set, named by its
/// 1-based number.
/// </summary>
public static class EvalSetParser
{
    private static readonly JsonSerializerOptions LineJson = new(JsonSerializerDefaults.Web)
    {
        DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull,
    };

    public static (IReadOnlyList<EvalExample>? Examples, FieldError? Error) Parse(ReadOnlyMemory<byte> body)
    {
        if (body.Span.StartsWith(Encoding.UTF8.Preamble))
            body = body[Encoding.UTF8.Preamble.Length..];
        var examples = new List<EvalExample>();
        var ids = new HashSet<string>(StringComparer.Ordinal);
        var lineNumber = 0;
        while (!body.IsEmpty)
        {
            lineNumber++;
            var newline = body.Span.IndexOf((byte)'\n');
            var line = newline < 0 ? body : body[..newline];
            body = newline < 0 ? ReadOnlyMemory<byte>.Empty : body[(newline + 1)..];
            if (line.Span.EndsWith("\r"u8))
                line = line[..^1];
            if (line.Span.IndexOfAnyExcept(" \t"u8) < 0)
                continue;
            var (example, problem) = ParseLine(line);
            if (problem is null && example!.Id is { } id && !ids.Add(id))
                problem = $"the id '{id}' is already used by an earlier line";
            if (problem is not null)
                return (null, new($"line {lineNumber}", problem));
            examples.Add(example!);
        }
        return examples.Count == 0
            ? (null, new("body", "holds no examples: send one JSON object per line, {\"prompt\": \"...\", \"references\": [\"...\"]}"))
            : (examples, null);
    }

    /// <summary>The examples as JSONL in one canonical form, so that the same set always has the same bytes and hash.</summary>
    public static byte[] ToJsonLines(IEnumerable<EvalExample> examples)
    {
        using var buffer = new MemoryStream();
        foreach (var example in examples)
        {
            JsonSerializer.Serialize(buffer, example, LineJson);
            buffer.WriteByte((byte)'\n');
        }
        return buffer.ToArray();
    }

    public static IReadOnlyList<EvalExample> FromJsonLines(ReadOnlyMemory<byte> jsonLines) =>
        Parse(jsonLines) is ({ } examples, null) ? examples : throw new InvalidDataException("A stored eval set is not valid JSONL.");

    private static (EvalExample? Example, string? Problem) ParseLine(ReadOnlyMemory<byte> line)
    {
        if (!Utf8.IsValid(line.Span))
            return (null, "the line is not valid UTF-8");
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(line);
        }
        catch (JsonException e)
        {
            return (null, $"malformed JSON at byte {e.BytePositionInLine + 1}");
        }
        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
                return (null, "the line is not a JSON object");
            if (!root.TryGetProperty("prompt", out var prompt))
                return (null, "the object has no \"prompt\"");
            if (prompt.ValueKind != JsonValueKind.String || prompt.GetString() is not { Length: > 0 } promptText)
                return (null, "\"prompt\" must be a non-empty string");
            if (!root.TryGetProperty("references", out var references))
                return (null, "the object has no \"references\"");
            if (references.ValueKind != JsonValueKind.Array || references.GetArrayLength() == 0)
                return (null, "\"references\" must be a non-empty array of strings");
            var texts = new List<string>(references.GetArrayLength());
            foreach (var reference in references.EnumerateArray())
            {
                if (reference.ValueKind != JsonValueKind.String || reference.GetString() is not { Length: > 0 } text)
                    return (null, $"\"references\"[{texts.Count}] must be a non-empty string");
                texts.Add(text);
            }
            string? id = null;
            if (root.TryGetProperty("id", out var idElement))
            {
                if (idElement.ValueKind != JsonValueKind.String || idElement.GetString() is not { Length: > 0 } idText)
                    return (null, "\"id\" must be a non-empty string");
                id = idText;
            }
            return (new EvalExample(promptText, texts, id), null);
        }
    }
}
