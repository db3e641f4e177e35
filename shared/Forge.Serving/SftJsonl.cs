using System.Text;
using System.Text.Json;
using Forge.Contracts;
using Forge.Model;
using Forge.Tokenization;

namespace Forge.Serving;

/// <summary>A line of SFT JSONL that cannot be read: which line (1-based), which field, and why.</summary>
public sealed class SftFormatException(int line, string field, string reason)
    : FormatException($"Line {line}, {field}: {reason}")
{
    public int Line { get; } = line;
    public string Field { get; } = field;
}

/// <summary>
/// Reads supervised fine-tuning examples from JSONL, one object per line (blank lines are skipped, other fields
/// ignored), as the feedback service exports them:
/// <list type="bullet">
/// <item><c>{"prompt": "...", "completion": "..."}</c>: both encoded as they are;</item>
/// <item><c>{"messages": [{"role": "user", "content": "..."}, ..., {"role": "assistant", "content": "..."}]}</c>: the
/// prompt is every message but the last through <see cref="ChatTemplate"/> (so it ends with the assistant's cue, as
/// inference will prompt the model), the completion the last message's content, which must be the assistant's. A
/// line with both forms is read as messages.</item>
/// </list>
/// The prompt and the completion are encoded separately, so the completion's first token starts a token, as it does
/// when the model generates it.
/// </summary>
public static class SftJsonl
{
    public const string EndOfText = "<|endoftext|>";

    /// <summary>Reads every example; a bad line throws <see cref="SftFormatException"/> naming its line and field.</summary>
    public static IReadOnlyList<SftExample> Read(Stream jsonl, ITokenizer tokenizer, int contextLength)
    {
        ArgumentNullException.ThrowIfNull(jsonl);
        ArgumentNullException.ThrowIfNull(tokenizer);
        ArgumentOutOfRangeException.ThrowIfLessThan(contextLength, 2);
        var template = ChatTemplate.For(tokenizer);
        using var reader = new StreamReader(jsonl, Encoding.UTF8, detectEncodingFromByteOrderMarks: true);
        var examples = new List<SftExample>();
        var number = 0;
        while (reader.ReadLine() is { } line)
        {
            number++;
            if (!string.IsNullOrWhiteSpace(line))
                examples.Add(ReadLine(line, number, tokenizer, template, contextLength));
        }
        return examples;
    }

    /// <summary>The id of <c>&lt;|endoftext|&gt;</c> for a BPE tokenizer that has it (it then ends every completion); else null.</summary>
    public static int? EndToken(ITokenizer tokenizer) => tokenizer is BpeTokenizer bpe ? bpe.TokenToId(EndOfText) : null;

    private static SftExample ReadLine(string line, int number, ITokenizer tokenizer, ChatTemplate template, int contextLength)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(line);
        }
        catch (JsonException e)
        {
            throw new SftFormatException(number, "line", $"not valid JSON ({e.Message.Split(". ")[0]}).");
        }
        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
                throw new SftFormatException(number, "line", "expected a JSON object with prompt and completion, or messages.");
            if (root.TryGetProperty("messages", out var messages) && messages.ValueKind != JsonValueKind.Null)
                return FromMessages(messages, number, tokenizer, template, contextLength);
            if (!root.TryGetProperty("prompt", out _) && !root.TryGetProperty("completion", out _))
                throw new SftFormatException(number, "line", "expected prompt and completion, or messages.");
            var prompt = Text(root, "prompt", number);
            var completion = Text(root, "completion", number);
            return new SftExample(Encode(tokenizer, prompt, number, "prompt"), Encode(tokenizer, completion, number, "completion"));
        }
    }

    private static SftExample FromMessages(JsonElement messages, int number, ITokenizer tokenizer, ChatTemplate template, int contextLength)
    {
        if (messages.ValueKind != JsonValueKind.Array)
            throw new SftFormatException(number, "messages", "expected an array of {role, content}.");
        var turns = new List<ChatTurn>();
        foreach (var (message, index) in messages.EnumerateArray().Select((m, i) => (m, i)))
        {
            var field = $"messages[{index}]";
            if (message.ValueKind != JsonValueKind.Object)
                throw new SftFormatException(number, field, "expected an object with role and content.");
            var role = Text(message, "role", number, field);
            if (!ChatTemplate.Roles.Contains(role))
                throw new SftFormatException(number, $"{field}.role", $"'{role}' is not a role; use {string.Join(", ", ChatTemplate.Roles)}.");
            turns.Add(new ChatTurn(role, Text(message, "content", number, field)));
        }
        if (turns.Count < 2)
            throw new SftFormatException(number, "messages", "expected the conversation and then the assistant's answer: at least two messages.");
        if (turns[^1].Role != "assistant")
            throw new SftFormatException(number, $"messages[{turns.Count - 1}].role", $"the last message is the answer to learn, so it must be the assistant's (got '{turns[^1].Role}').");
        int[] prompt;
        try
        {
            prompt = template.Encode(turns[..^1], contextLength - 1, out _);
        }
        catch (ArgumentException e)
        {
            throw new SftFormatException(number, "messages", e.Message);
        }
        return new SftExample(prompt, Encode(tokenizer, turns[^1].Content, number, $"messages[{turns.Count - 1}].content"));
    }

    private static string Text(JsonElement element, string name, int number, string? parent = null)
    {
        var field = parent is null ? name : $"{parent}.{name}";
        if (!element.TryGetProperty(name, out var value))
            throw new SftFormatException(number, field, "missing.");
        return value.ValueKind == JsonValueKind.String ? value.GetString()! : throw new SftFormatException(number, field, $"expected a string, got {value.ValueKind}.");
    }

    private static int[] Encode(ITokenizer tokenizer, string text, int number, string field)
    {
        try
        {
            return tokenizer.Encode(text);
        }
        catch (ArgumentException e)
        {
            throw new SftFormatException(number, field, $"the tokenizer cannot encode it: {e.Message}");
        }
    }
}
