using Forge.Contracts;
using Forge.Tokenization;

namespace Forge.Serving;

/// <summary>
/// Turns a conversation into the tokens a model continues, and says where its answer ends.
/// <para>
/// With a tokenizer that has the role tokens (the tokenizer service's defaults <c>&lt;|system|&gt;</c>,
/// <c>&lt;|user|&gt;</c>, <c>&lt;|assistant|&gt;</c> and <c>&lt;|endoftext|&gt;</c>), each turn is
/// <c>&lt;|role|&gt; content &lt;|endoftext|&gt;</c> and the prompt ends with <c>&lt;|assistant|&gt;</c>; the role tokens
/// are inserted by id, so text that merely looks like one stays text. The answer ends at any of those tokens.
/// </para>
/// <para>
/// Without them (a character tokenizer), turns are plain lines <c>User: …</c> / <c>Assistant: …</c> when the
/// vocabulary can spell the labels, else just the contents one per line; the answer ends at the next label.
/// </para>
/// </summary>
public sealed class ChatTemplate
{
    public static readonly IReadOnlyList<string> Roles = ["system", "user", "assistant"];

    private readonly ITokenizer _tokenizer;
    private readonly Dictionary<string, int>? _roleIds;
    private readonly int _endId;
    private readonly bool _labels;

    private ChatTemplate(ITokenizer tokenizer)
    {
        _tokenizer = tokenizer;
        if (tokenizer is BpeTokenizer bpe
            && bpe.TokenToId("<|endoftext|>") is { } end
            && Roles.All(role => bpe.TokenToId($"<|{role}|>") is not null))
        {
            _roleIds = Roles.ToDictionary(role => role, role => bpe.TokenToId($"<|{role}|>")!.Value, StringComparer.Ordinal);
            _endId = end;
            StopTokens = [end, .. _roleIds.Values];
            StopSequences = [];
        }
        else
        {
            _labels = CanSpell(tokenizer, "System: User: Assistant:\n");
            StopTokens = tokenizer is BpeTokenizer withEnd && withEnd.TokenToId("<|endoftext|>") is { } endOfText ? [endOfText] : [];
            StopSequences = _labels ? ["\nUser:", "\nSystem:", "\nAssistant:"] : [];
        }
    }

    public static ChatTemplate For(ITokenizer tokenizer) => new(tokenizer);

    /// <summary>True when the tokenizer has role tokens; false for the plain-text fallback.</summary>
    public bool UsesRoleTokens => _roleIds is not null;

    /// <summary>Tokens that end the assistant's answer (not part of it).</summary>
    public IReadOnlyList<int> StopTokens { get; }

    /// <summary>Text that ends the assistant's answer (not part of it).</summary>
    public IReadOnlyList<string> StopSequences { get; }

    /// <summary>
    /// The prompt for the next assistant turn, keeping the system turns and as many of the latest other turns as fit
    /// in <paramref name="budget"/> tokens (the context length less the tokens to generate). Turns are dropped whole,
    /// oldest first. Throws <see cref="ArgumentException"/> when even the last turn does not fit.
    /// </summary>
    public int[] Encode(IReadOnlyList<ChatTurn> messages, int budget, out int droppedTurns)
    {
        ArgumentNullException.ThrowIfNull(messages);
        if (messages.Count == 0)
            throw new ArgumentException("A chat needs at least one message.", nameof(messages));
        var encoded = messages.Select(EncodeTurn).ToList();
        var cue = EncodeCue();
        var kept = Enumerable.Range(0, messages.Count).ToList();
        int Length() => cue.Length + kept.Sum(i => encoded[i].Length);
        droppedTurns = 0;
        while (Length() > budget)
        {
            var oldest = kept.FindIndex(i => messages[i].Role != "system" && i != messages.Count - 1);
            if (oldest < 0)
                throw new ArgumentException($"The conversation needs {Length()} tokens even with only its system turns and last message; the model reads at most {budget} here.", nameof(messages));
            kept.RemoveAt(oldest);
            droppedTurns++;
        }
        return [.. kept.SelectMany(i => encoded[i]), .. cue];
    }

    private int[] EncodeTurn(ChatTurn turn)
    {
        if (_roleIds is not null)
            return [_roleIds[turn.Role], .. _tokenizer.Encode(turn.Content), _endId];
        var text = _labels ? $"{Label(turn.Role)}: {turn.Content}\n" : turn.Content + "\n";
        return _tokenizer.Encode(text);
    }

    private int[] EncodeCue() => _roleIds is not null ? [_roleIds["assistant"]] : _labels ? _tokenizer.Encode("Assistant: ") : [];

    private static string Label(string role) => role switch
    {
        "system" => "System",
        "user" => "User",
        _ => "Assistant",
    };

    private static bool CanSpell(ITokenizer tokenizer, string text)
    {
        try
        {
            return tokenizer.Decode(tokenizer.Encode(text)) == text;
        }
        catch (ArgumentException)
        {
            return false;
        }
    }
}
