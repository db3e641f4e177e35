using System.Text;

namespace Forge.Ingestion.Domain;

/// <summary>
/// Turns one long text (a book, a large file) into documents of at most a given size, cutting at paragraph
/// boundaries (blank lines) where it can and at line ends otherwise, so no document is cut mid-sentence unless
/// a single line is longer than the limit.
/// </summary>
public sealed class TextSplitter(int maxDocumentBytes)
{
    private readonly StringBuilder _current = new();
    private int _currentBytes;

    /// <summary>Feeds one line (without its line break); returns the documents completed by it.</summary>
    public IEnumerable<string> AddLine(string line)
    {
        var lineBytes = Encoding.UTF8.GetByteCount(line) + 1;
        if (_currentBytes > 0 && _currentBytes + lineBytes > maxDocumentBytes)
        {
            var cut = ParagraphCut();
            yield return TakeUpTo(cut);
        }
        if (lineBytes > maxDocumentBytes)
        {
            foreach (var piece in Pieces(line))
                yield return piece;
            yield break;
        }
        _current.Append(line).Append('\n');
        _currentBytes += lineBytes;
    }

    /// <summary>The text still gathered, as a last document (or nothing).</summary>
    public string? Finish()
    {
        var text = _current.ToString().Trim();
        _current.Clear();
        _currentBytes = 0;
        return text.Length == 0 ? null : text;
    }

    public static IEnumerable<string> Split(string text, int maxDocumentBytes)
    {
        var splitter = new TextSplitter(maxDocumentBytes);
        foreach (var line in text.Split('\n'))
        {
            foreach (var document in splitter.AddLine(line.TrimEnd('\r')))
                yield return document;
        }
        if (splitter.Finish() is { } last)
            yield return last;
    }

    /// <summary>The end of the last complete paragraph in the gathered text, or all of it when it has no blank line.</summary>
    private int ParagraphCut()
    {
        var text = _current.ToString();
        var blank = text.LastIndexOf("\n\n", StringComparison.Ordinal);
        return blank > 0 ? blank + 2 : text.Length;
    }

    private string TakeUpTo(int length)
    {
        var text = _current.ToString();
        var document = text[..length].Trim();
        _current.Clear().Append(text[length..]);
        _currentBytes = Encoding.UTF8.GetByteCount(_current.ToString());
        return document;
    }

    private IEnumerable<string> Pieces(string line)
    {
        // A single line longer than a document: cut it by characters (never inside a surrogate pair).
        var maxChars = Math.Max(1, maxDocumentBytes / 4);
        for (var start = 0; start < line.Length;)
        {
            var length = Math.Min(maxChars, line.Length - start);
            if (start + length < line.Length && char.IsHighSurrogate(line[start + length - 1]))
                length--;
            yield return line.Substring(start, length);
            start += length;
        }
    }
}
