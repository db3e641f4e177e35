using System.Buffers;
using System.Globalization;
using System.Text;

namespace Forge.Metrics;

/// <summary>
/// The few Python <c>str</c> operations the reference tools lean on. The scores must equal theirs
/// exactly, and .NET's own whitespace set and lowercasing differ from Python's at the edges.
/// </summary>
internal static class PythonText
{
    /// <summary>Python's <c>str.isspace</c>: .NET's set plus the four information separators U+001C..U+001F.</summary>
    public static bool IsWhiteSpace(char c) => char.IsWhiteSpace(c) || c is >= '\u001C' and <= '\u001F';

    /// <summary>Python's argument-less <c>str.split()</c>: runs of whitespace separate, none yield empty words.</summary>
    public static List<string> Split(string text)
    {
        var words = new List<string>();
        var start = -1;
        for (var i = 0; i < text.Length; i++)
        {
            if (IsWhiteSpace(text[i]))
            {
                if (start >= 0)
                    words.Add(text[start..i]);
                start = -1;
            }
            else if (start < 0)
            {
                start = i;
            }
        }
        if (start >= 0)
            words.Add(text[start..]);
        return words;
    }

    /// <summary>Python's <c>''.join(text.split())</c>.</summary>
    public static string RemoveWhiteSpace(string text)
    {
        var kept = new StringBuilder(text.Length);
        foreach (var c in text)
        {
            if (!IsWhiteSpace(c))
                kept.Append(c);
        }
        return kept.ToString();
    }

    /// <summary>Python's <c>str.rstrip()</c>.</summary>
    public static string TrimEnd(string text)
    {
        var end = text.Length;
        while (end > 0 && IsWhiteSpace(text[end - 1]))
            end--;
        return text[..end];
    }

    /// <summary>
    /// Python's <c>str.lower()</c>: simple case mapping per code point, plus the two rules where Python
    /// uses the full mapping: U+0130 becomes "i" and a combining dot, and a capital sigma at the end of
    /// a word becomes the final form ς.
    /// </summary>
    public static string Lower(string text)
    {
        if (Ascii.IsValid(text))
            return text.ToLowerInvariant();

        var lowered = new StringBuilder(text.Length);
        var i = 0;
        while (i < text.Length)
        {
            if (Rune.DecodeFromUtf16(text.AsSpan(i), out var rune, out var consumed) != OperationStatus.Done)
            {
                // A lone surrogate has no case; Python keeps it as it is.
                lowered.Append(text[i]);
                i++;
                continue;
            }

            if (rune.Value == 0x0130)
                lowered.Append("i\u0307");
            else if (rune.Value == 0x03A3)
                lowered.Append(IsFinalSigma(text, i) ? 'ς' : 'σ');
            else
                lowered.Append(Rune.ToLowerInvariant(rune).ToString());
            i += consumed;
        }
        return lowered.ToString();
    }

    /// <summary>
    /// Number of code points in <paramref name="text"/> and where each starts, with the end as a
    /// sentinel: Python indexes strings by code point, so character n-grams must not split a pair.
    /// </summary>
    public static int[] CodePointStarts(string text)
    {
        var starts = new List<int>(text.Length + 1);
        var i = 0;
        while (i < text.Length)
        {
            starts.Add(i);
            i += char.IsHighSurrogate(text[i]) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]) ? 2 : 1;
        }
        starts.Add(text.Length);
        return [.. starts];
    }

    // Unicode's Final_Sigma condition as CPython applies it: a cased letter before the sigma (skipping
    // case-ignorable ones) and no cased letter after it. .NET exposes no Cased or Case_Ignorable
    // property, so they are approximated from general categories and the word-break punctuation list.
    private static bool IsFinalSigma(string text, int sigmaIndex)
    {
        var j = sigmaIndex;
        Rune before = default;
        var found = false;
        while (j > 0)
        {
            if (Rune.DecodeLastFromUtf16(text.AsSpan(0, j), out before, out var consumed) != OperationStatus.Done)
                consumed = 1;
            j -= consumed;
            if (!IsCaseIgnorable(before))
            {
                found = true;
                break;
            }
        }
        if (!found || !IsCased(before))
            return false;

        j = sigmaIndex + 1;
        while (j < text.Length)
        {
            if (Rune.DecodeFromUtf16(text.AsSpan(j), out var after, out var consumed) != OperationStatus.Done)
                return true;
            if (!IsCaseIgnorable(after))
                return !IsCased(after);
            j += consumed;
        }
        return true;
    }

    private static bool IsCased(Rune rune) => Rune.GetUnicodeCategory(rune) is
        UnicodeCategory.UppercaseLetter or UnicodeCategory.LowercaseLetter or UnicodeCategory.TitlecaseLetter;

    private static bool IsCaseIgnorable(Rune rune) =>
        Rune.GetUnicodeCategory(rune) is UnicodeCategory.NonSpacingMark or UnicodeCategory.EnclosingMark
            or UnicodeCategory.Format or UnicodeCategory.ModifierLetter or UnicodeCategory.ModifierSymbol
        || rune.Value is 0x0027 or 0x002E or 0x003A or 0x00B7 or 0x0387 or 0x055F or 0x05F4 or 0x2018 or 0x2019
            or 0x2024 or 0x2027 or 0xFE13 or 0xFE52 or 0xFE55 or 0xFF07 or 0xFF0E or 0xFF1A;
}
