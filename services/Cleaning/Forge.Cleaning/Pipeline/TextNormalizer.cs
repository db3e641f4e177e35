using System.Globalization;
using System.Text;

namespace Forge.Cleaning.Pipeline;

/// <summary>
/// The first cleaning step: Unicode NFC, one kind of line break, no control or format characters, runs of
/// spaces collapsed, no trailing spaces on a line, at most one blank line between paragraphs.
/// </summary>
public static class TextNormalizer
{
    public static string Normalize(string text)
    {
        var composed = text.IsNormalized(NormalizationForm.FormC) ? text : text.Normalize(NormalizationForm.FormC);
        var output = new StringBuilder(composed.Length);
        var pendingSpace = false;
        var newlines = 0;
        for (var i = 0; i < composed.Length; i++)
        {
            var c = composed[i];
            if (c == '\r')
            {
                if (i + 1 < composed.Length && composed[i + 1] == '\n')
                    continue;
                c = '\n';
            }
            if (c is '\n' or '\u2028' or '\u2029' or '\u0085')
            {
                pendingSpace = false;
                newlines++;
                continue;
            }
            if (c == '\t' || char.IsWhiteSpace(c))
            {
                pendingSpace = true;
                continue;
            }
            var category = CharUnicodeInfo.GetUnicodeCategory(c);
            // Zero-width joiners stay: emoji sequences and several scripts need them.
            if (category == UnicodeCategory.Control || (category == UnicodeCategory.Format && c is not '\u200D' and not '\u200C'))
                continue;
            if (output.Length > 0)
            {
                if (newlines > 0)
                    output.Append(newlines == 1 ? "\n" : "\n\n");
                else if (pendingSpace)
                    output.Append(' ');
            }
            newlines = 0;
            pendingSpace = false;
            output.Append(c);
        }
        return output.ToString();
    }
}
