using System.Globalization;
using System.Runtime.CompilerServices;

namespace Forge.Tokenization;

/// <summary>The pre-tokenisation patterns a byte-level BPE tokenizer can use.</summary>
public enum PreTokenizerPattern
{
    /// <summary>GPT-2's pattern, the one Hugging Face's ByteLevel pre-tokenizer applies with use_regex true.</summary>
    Gpt2,

    /// <summary>GPT-4's cl100k_base pattern: case-insensitive contractions, numbers in groups of at most three digits.</summary>
    Cl100k,
}

/// <summary>
/// Splits text into the spans that BPE merges never cross. Each pattern is a hand-written matcher equivalent to
/// its regular expression (<see cref="Gpt2Regex"/>, <see cref="Cl100kRegex"/>), about four times faster than
/// .NET's compiled Regex and free of allocations.
/// <para>
/// The matchers classify code points, as Oniguruma does for Hugging Face: a letter or digit outside the Basic
/// Multilingual Plane ("𝐀", "𝟙") is a letter or a number. .NET's Regex classifies UTF-16 code units, so it sees such
/// a character as two surrogates matching <c>[^\s\p{L}\p{N}]</c>; that is the only place the two differ.
/// A lone surrogate counts as "other", like the U+FFFD it is encoded as.
/// </para>
/// </summary>
public abstract class PreTokenizer
{
    public const string Gpt2Regex = @"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+";

    public const string Cl100kRegex = @"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";

    public static PreTokenizer Gpt2 { get; } = new Gpt2PreTokenizer();

    public static PreTokenizer Cl100k { get; } = new Cl100kPreTokenizer();

    public static PreTokenizer For(PreTokenizerPattern pattern) => pattern switch
    {
        PreTokenizerPattern.Gpt2 => Gpt2,
        PreTokenizerPattern.Cl100k => Cl100k,
        _ => throw new ArgumentOutOfRangeException(nameof(pattern), pattern, "Unknown pre-tokenizer pattern."),
    };

    public abstract PreTokenizerPattern Pattern { get; }

    public abstract string Regex { get; }

    /// <summary>The end (exclusive) of the span that starts at <paramref name="start"/>; <paramref name="start"/> is below the length.</summary>
    public abstract int NextEnd(ReadOnlySpan<char> text, int start);

    /// <summary>The spans of <paramref name="text"/> as (start, length) pairs.</summary>
    public List<(int Start, int Length)> Split(ReadOnlySpan<char> text)
    {
        var spans = new List<(int, int)>();
        for (var start = 0; start < text.Length;)
        {
            var end = NextEnd(text, start);
            spans.Add((start, end - start));
            start = end;
        }
        return spans;
    }

    private protected enum CharClass : byte
    {
        Other,
        Letter,
        Number,
        Space,
    }

    private static readonly CharClass[] Latin1Classes = BuildLatin1Classes();

    private static CharClass[] BuildLatin1Classes()
    {
        var classes = new CharClass[256];
        for (var c = 0; c < 256; c++)
            classes[c] = ClassOfCategory((char)c, CharUnicodeInfo.GetUnicodeCategory((char)c));
        return classes;
    }

    private static CharClass ClassOfCategory(int codePoint, UnicodeCategory category) => category switch
    {
        UnicodeCategory.UppercaseLetter or UnicodeCategory.LowercaseLetter or UnicodeCategory.TitlecaseLetter
            or UnicodeCategory.ModifierLetter or UnicodeCategory.OtherLetter => CharClass.Letter,
        UnicodeCategory.DecimalDigitNumber or UnicodeCategory.LetterNumber or UnicodeCategory.OtherNumber => CharClass.Number,
        UnicodeCategory.SpaceSeparator or UnicodeCategory.LineSeparator or UnicodeCategory.ParagraphSeparator => CharClass.Space,
        // \s is [\t\n\v\f\r\x85\p{Z}] for both Oniguruma and .NET.
        _ => codePoint is >= 0x09 and <= 0x0D or 0x85 ? CharClass.Space : CharClass.Other,
    };

    /// <summary>The class of the code point at <paramref name="index"/> and its width in UTF-16 code units.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private protected static CharClass ClassAt(ReadOnlySpan<char> text, int index, out int width)
    {
        var c = text[index];
        width = 1;
        if (c < 256)
            return Latin1Classes[c];
        return ClassOfNonLatin1(text, index, ref width);
    }

    private static CharClass ClassOfNonLatin1(ReadOnlySpan<char> text, int index, ref int width)
    {
        var c = text[index];
        if (!char.IsSurrogate(c))
            return ClassOfCategory(c, CharUnicodeInfo.GetUnicodeCategory(c));
        if (char.IsHighSurrogate(c) && index + 1 < text.Length && char.IsLowSurrogate(text[index + 1]))
        {
            width = 2;
            var codePoint = char.ConvertToUtf32(c, text[index + 1]);
            return ClassOfCategory(codePoint, CharUnicodeInfo.GetUnicodeCategory(codePoint));
        }
        return CharClass.Other;
    }

    /// <summary>
    /// Whether both patterns start a span at <paramref name="index"/> whatever follows, so that the text can be cut
    /// there: a letter after a line break that follows a non-space. The break is then a span of its own, or the end
    /// of a symbol span (cl100k's "[\r\n]*"), in the whole text as at the end of the piece before the cut; and the
    /// letter cannot join the break (" ?\p{L}+" wants a space, cl100k's "[^\r\n\p{L}\p{N}]?" refuses a break).
    /// </summary>
    internal static bool AlwaysStartsSpan(ReadOnlySpan<char> text, int index) =>
        index >= 2 && text[index - 1] == '\n' && ClassAt(text, index - 2, out _) != CharClass.Space && ClassAt(text, index, out _) == CharClass.Letter;

    /// <summary>End of the run of code points of class <paramref name="kind"/> starting at <paramref name="index"/>.</summary>
    private protected static int RunEnd(ReadOnlySpan<char> text, int index, CharClass kind)
    {
        while (index < text.Length && ClassAt(text, index, out var width) == kind)
            index += width;
        return index;
    }

    /// <summary><c>\s+(?!\S)|\s+</c> at a whitespace character: a run followed by text gives up its last character unless that is all it has.</summary>
    private protected static int WhitespaceEnd(ReadOnlySpan<char> text, int start)
    {
        var end = RunEnd(text, start, CharClass.Space);
        // Whitespace characters are all in the BMP, so backing off one code point is backing off one char.
        return end == text.Length || end - start == 1 ? end : end - 1;
    }

    private sealed class Gpt2PreTokenizer : PreTokenizer
    {
        public override PreTokenizerPattern Pattern => PreTokenizerPattern.Gpt2;

        public override string Regex => Gpt2Regex;

        public override int NextEnd(ReadOnlySpan<char> text, int start)
        {
            var c = text[start];
            if (c == '\'' && ContractionLength(text, start) is var contraction and > 0)
                return start + contraction;
            var kind = ClassAt(text, start, out var width);
            if (c == ' ' && start + 1 < text.Length)
            {
                var next = ClassAt(text, start + 1, out _);
                if (next != CharClass.Space)
                    return RunEnd(text, start + 1, next);
            }
            return kind == CharClass.Space ? WhitespaceEnd(text, start) : RunEnd(text, start + width, kind);
        }

        /// <summary>'s|'t|'re|'ve|'m|'ll|'d, case-sensitive.</summary>
        private static int ContractionLength(ReadOnlySpan<char> text, int start)
        {
            if (start + 1 >= text.Length)
                return 0;
            var a = text[start + 1];
            if (a is 's' or 't' or 'm' or 'd')
                return 2;
            if (start + 2 >= text.Length)
                return 0;
            var b = text[start + 2];
            return (a, b) is ('r', 'e') or ('v', 'e') or ('l', 'l') ? 3 : 0;
        }
    }

    private sealed class Cl100kPreTokenizer : PreTokenizer
    {
        public override PreTokenizerPattern Pattern => PreTokenizerPattern.Cl100k;

        public override string Regex => Cl100kRegex;

        public override int NextEnd(ReadOnlySpan<char> text, int start)
        {
            var c = text[start];
            if (c == '\'' && ContractionLength(text, start) is var contraction and > 0)
                return start + contraction;
            var kind = ClassAt(text, start, out var width);
            // [^\r\n\p{L}\p{N}]?\p{L}+
            if (kind == CharClass.Letter)
                return RunEnd(text, start + width, CharClass.Letter);
            if (kind != CharClass.Number && c is not ('\r' or '\n') && start + width < text.Length
                && ClassAt(text, start + width, out _) == CharClass.Letter)
                return RunEnd(text, start + width, CharClass.Letter);
            // \p{N}{1,3}
            if (kind == CharClass.Number)
            {
                var end = start + width;
                for (var digits = 1; digits < 3 && end < text.Length && ClassAt(text, end, out var w) == CharClass.Number; digits++)
                    end += w;
                return end;
            }
            // ' ?[^\s\p{L}\p{N}]+[\r\n]*'
            if (kind == CharClass.Other || (c == ' ' && start + 1 < text.Length && ClassAt(text, start + 1, out _) == CharClass.Other))
            {
                var end = RunEnd(text, c == ' ' ? start + 1 : start, CharClass.Other);
                while (end < text.Length && text[end] is '\r' or '\n')
                    end++;
                return end;
            }
            // \s*[\r\n]+ : the whitespace run up to and including its last line break.
            var runEnd = RunEnd(text, start, CharClass.Space);
            for (var i = runEnd - 1; i >= start; i--)
            {
                if (text[i] is '\r' or '\n')
                    return i + 1;
            }
            return WhitespaceEnd(text, start);
        }

        /// <summary>(?i:'s|'t|'re|'ve|'m|'ll|'d), ASCII case-insensitive.</summary>
        private static int ContractionLength(ReadOnlySpan<char> text, int start)
        {
            if (start + 1 >= text.Length)
                return 0;
            var a = char.ToLowerInvariant(text[start + 1]);
            if (text[start + 1] >= 128)
                return 0;
            if (a is 's' or 't' or 'm' or 'd')
                return 2;
            if (start + 2 >= text.Length || text[start + 2] >= 128)
                return 0;
            var b = char.ToLowerInvariant(text[start + 2]);
            return (a, b) is ('r', 'e') or ('v', 'e') or ('l', 'l') ? 3 : 0;
        }
    }
}
