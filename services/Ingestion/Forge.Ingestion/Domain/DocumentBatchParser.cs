using System.Text.Json;

namespace Forge.Ingestion.Domain;

public sealed record RawDocument(string Text, string? Id);

/// <summary>Why a posted batch was refused: which field (a JSON path) and what is wrong with it.</summary>
public sealed record BatchError(int Status, string Field, string Message);

/// <summary>
/// Reads a posted JSON array of documents. Each element is a string, or an object with a string "text"
/// (and an optional string "id"). The whole batch is checked before anything is stored.
/// </summary>
public static class DocumentBatchParser
{
    public static (IReadOnlyList<RawDocument>? Documents, BatchError? Error) Parse(ReadOnlyMemory<byte> body)
    {
        if (body.IsEmpty || body.Span.Trim(" \t\r\n"u8).IsEmpty)
            return (null, new BatchError(400, "body", "The request body is empty; send a JSON array of documents."));
        JsonDocument json;
        try
        {
            json = JsonDocument.Parse(body, new JsonDocumentOptions { MaxDepth = 32 });
        }
        catch (JsonException e)
        {
            return (null, new BatchError(400, "body", $"Malformed JSON at line {e.LineNumber + 1}, byte {e.BytePositionInLine + 1}: {FirstSentence(e.Message)}"));
        }
        using (json)
        {
            if (json.RootElement.ValueKind != JsonValueKind.Array)
                return (null, new BatchError(422, "$", $"Expected a JSON array of documents, got {Describe(json.RootElement.ValueKind)}."));
            var documents = new List<RawDocument>(json.RootElement.GetArrayLength());
            var index = 0;
            foreach (var element in json.RootElement.EnumerateArray())
            {
                var (document, error) = ReadDocument(element, $"$[{index}]");
                if (error is not null)
                    return (null, error);
                documents.Add(document!);
                index++;
            }
            if (documents.Count == 0)
                return (null, new BatchError(422, "$", "The array holds no documents."));
            return (documents, null);
        }
    }

    private static (RawDocument?, BatchError?) ReadDocument(JsonElement element, string path)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.String:
                var text = element.GetString()!;
                return text.Length == 0 ? (null, new BatchError(422, path, "The document is empty.")) : (new RawDocument(text, null), null);
            case JsonValueKind.Object:
                if (!element.TryGetProperty("text", out var textElement))
                    return (null, new BatchError(422, $"{path}.text", "A document object needs a \"text\" field."));
                if (textElement.ValueKind != JsonValueKind.String)
                    return (null, new BatchError(422, $"{path}.text", $"\"text\" must be a string, got {Describe(textElement.ValueKind)}."));
                var value = textElement.GetString()!;
                if (value.Length == 0)
                    return (null, new BatchError(422, $"{path}.text", "The document is empty."));
                string? id = null;
                if (element.TryGetProperty("id", out var idElement))
                {
                    if (idElement.ValueKind != JsonValueKind.String)
                        return (null, new BatchError(422, $"{path}.id", $"\"id\" must be a string, got {Describe(idElement.ValueKind)}."));
                    id = idElement.GetString();
                }
                return (new RawDocument(value, id), null);
            default:
                return (null, new BatchError(422, path, $"A document must be a string or an object with a \"text\" string, got {Describe(element.ValueKind)}."));
        }
    }

    private static string Describe(JsonValueKind kind) => kind switch
    {
        JsonValueKind.Object => "an object",
        JsonValueKind.Array => "an array",
        JsonValueKind.String => "a string",
        JsonValueKind.Number => "a number",
        JsonValueKind.True or JsonValueKind.False => "a boolean",
        JsonValueKind.Null => "null",
        _ => "nothing",
    };

    private static string FirstSentence(string message)
    {
        var end = message.IndexOf(". ", StringComparison.Ordinal);
        return end < 0 ? message : message[..(end + 1)];
    }
}
