using Forge.Tokenization;

namespace Forge.Serving;

/// <summary>
/// Turns generated tokens into text as they come, for streaming: it releases only text that is final. Two things
/// hold text back: a byte-level token may end in the middle of a character's UTF-8 bytes (decoded as U+FFFD until the
/// next token completes it), and the tail of the text may be the start of a stop sequence. When a stop sequence
/// appears, the text ends just before it and <see cref="Stopped"/> turns true; nothing after it is ever released.
/// </summary>
public sealed class TextStreamer
{
    private readonly ITokenizer _tokenizer;
    private readonly string[] _stops;
    private readonly int _holdBack;
    private readonly List<int> _ids = [];
    private string _text = "";
    private int _released;

    public TextStreamer(ITokenizer tokenizer, IReadOnlyList<string> stopSequences)
    {
        ArgumentNullException.ThrowIfNull(stopSequences);
        _tokenizer = tokenizer;
        _stops = [.. stopSequences.Where(s => s.Length > 0).Distinct(StringComparer.Ordinal)];
        _holdBack = _stops.Length == 0 ? 0 : _stops.Max(s => s.Length) - 1;
    }

    public bool Stopped { get; private set; }

    /// <summary>The text so far, cut before a stop sequence once one appeared.</summary>
    public string Text => _text;

    public int TokenCount => _ids.Count;

    /// <summary>Adds a token and returns the text it makes final ("" when everything new must wait).</summary>
    public string Append(int token)
    {
        if (Stopped)
            throw new InvalidOperationException("The text already ended at a stop sequence.");
        _ids.Add(token);
        var decoded = _tokenizer.Decode(_ids.ToArray());
        // Search only where a stop could start that was not possible before: from the released text on.
        var searchFrom = Math.Max(0, _released - _holdBack);
        var stopAt = -1;
        foreach (var stop in _stops)
        {
            var at = decoded.IndexOf(stop, searchFrom, StringComparison.Ordinal);
            if (at >= 0 && (stopAt < 0 || at < stopAt))
                stopAt = at;
        }
        if (stopAt >= 0)
        {
            Stopped = true;
            _text = decoded[..stopAt];
            return Release(_text.Length);
        }
        _text = decoded;
        var complete = decoded.Length;
        while (complete > _released && decoded[complete - 1] == '\uFFFD')
            complete--; // maybe an incomplete character: wait for the next token
        return Release(Math.Max(_released, complete - _holdBack));
    }

    /// <summary>The text still held back, when generation ends without a stop sequence.</summary>
    public string Finish() => Release(_text.Length);

    private string Release(int upTo)
    {
        if (upTo <= _released)
            return "";
        var piece = _text[_released..upTo];
        _released = upTo;
        return piece;
    }
}
