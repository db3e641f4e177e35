using System.IO.Hashing;
using System.Runtime.InteropServices;

namespace Forge.Cleaning.Pipeline;

/// <summary>
/// Document quality heuristics after the Gopher rules (Rae et al. 2021), with the thresholds of
/// <see cref="CleaningSettings"/>. Each rule that fails names itself; the first failing rule drops the document.
/// Words are whitespace-separated tokens; n-grams are compared by 64-bit hashes of their words, so a document
/// is scanned without building n-gram strings.
/// </summary>
public static class QualityFilter
{
    public const string TooFewWords = "too-few-words";
    public const string TooManyWords = "too-many-words";
    public const string ShortWords = "mean-word-length-too-low";
    public const string LongWords = "mean-word-length-too-high";
    public const string SymbolRatio = "symbol-to-word-ratio";
    public const string BulletLines = "bullet-lines";
    public const string EllipsisLines = "ellipsis-lines";
    public const string AlphabeticShare = "alphabetic-share";
    public const string StopWords = "stop-words";
    public const string RepeatedLines = "repeated-lines";
    public const string RepeatedLineChars = "repeated-line-chars";
    public const string RepeatedParagraphs = "repeated-paragraphs";
    public const string RepeatedParagraphChars = "repeated-paragraph-chars";

    public static string TopNGram(int n) => $"top-{n}-gram";
    public static string DuplicateNGrams(int n) => $"duplicate-{n}-grams";

    private static readonly string[] StopWordList = ["the", "be", "to", "of", "and", "that", "have", "with"];

    private readonly record struct Word(int Start, int Length, ulong Hash);

    // Reused per thread: a document is checked without allocating its word list or n-gram tables anew.
    [ThreadStatic] private static List<Word>? _words;
    [ThreadStatic] private static NGramTable? _table;

    /// <summary>Returns the reason the document fails, or null when it passes every rule.</summary>
    public static string? Check(string text, CleaningSettings settings)
    {
        var words = Words(text);
        return CheckWords(text, words, settings) ?? CheckRepetition(text, words, settings);
    }

    private static List<Word> Words(string text)
    {
        var words = _words ??= new List<Word>(1024);
        words.Clear();
        var span = text.AsSpan();
        var i = 0;
        while (i < span.Length)
        {
            while (i < span.Length && char.IsWhiteSpace(span[i]))
                i++;
            var start = i;
            while (i < span.Length && !char.IsWhiteSpace(span[i]))
                i++;
            if (i > start)
                words.Add(new Word(start, i - start, XxHash3.HashToUInt64(MemoryMarshal.AsBytes(span[start..i]))));
        }
        return words;
    }

    private static string? CheckWords(string text, List<Word> words, CleaningSettings settings)
    {
        var span = text.AsSpan();
        int contentWords = 0, alphabeticWords = 0, stopWords = 0;
        long contentChars = 0;
        foreach (var word in words)
        {
            var token = span.Slice(word.Start, word.Length);
            bool hasLetter = false, hasContent = false;
            foreach (var c in token)
            {
                hasLetter |= char.IsLetter(c);
                hasContent |= !char.IsPunctuation(c) && !char.IsSymbol(c);
            }
            if (hasLetter)
                alphabeticWords++;
            if (hasContent)
            {
                contentWords++;
                contentChars += word.Length;
            }
            if (word.Length <= 4 && IsStopWord(token))
                stopWords++;
        }

        if (contentWords < settings.MinWords)
            return TooFewWords;
        if (contentWords > settings.MaxWords)
            return TooManyWords;
        if (contentWords > 0)
        {
            var meanLength = (double)contentChars / contentWords;
            if (meanLength < settings.MinMeanWordLength)
                return ShortWords;
            if (meanLength > settings.MaxMeanWordLength)
                return LongWords;
        }
        if (words.Count == 0)
            return TooFewWords;
        var hashes = Count(span, "#");
        var ellipses = Count(span, "...") + Count(span, "…");
        if ((double)hashes / words.Count > settings.MaxSymbolWordRatio || (double)ellipses / words.Count > settings.MaxSymbolWordRatio)
            return SymbolRatio;

        int lines = 0, bulletLines = 0, ellipsisLines = 0;
        foreach (var range in span.Split('\n'))
        {
            var line = span[range];
            lines++;
            var trimmedStart = line.TrimStart();
            if (trimmedStart.Length > 0 && trimmedStart[0] is '•' or '-' or '*' or '‣' or '◦' or '⁃')
                bulletLines++;
            var trimmedEnd = line.TrimEnd();
            if (trimmedEnd.EndsWith("...", StringComparison.Ordinal) || trimmedEnd.EndsWith('…'))
                ellipsisLines++;
        }
        if ((double)bulletLines / lines > settings.MaxBulletLineShare)
            return BulletLines;
        if ((double)ellipsisLines / lines > settings.MaxEllipsisLineShare)
            return EllipsisLines;
        if ((double)alphabeticWords / words.Count < settings.MinAlphabeticWordShare)
            return AlphabeticShare;
        if (stopWords < settings.MinStopWords)
            return StopWords;
        return null;
    }

    private static string? CheckRepetition(string text, List<Word> words, CleaningSettings settings)
    {
        if (text.Length == 0)
            return null;
        var (paragraphs, duplicateParagraphs, duplicateParagraphChars) = Duplicates(text, "\n\n");
        if ((double)duplicateParagraphs / paragraphs > settings.MaxDuplicateParagraphShare)
            return RepeatedParagraphs;
        if ((double)duplicateParagraphChars / text.Length > settings.MaxDuplicateParagraphCharShare)
            return RepeatedParagraphChars;
        var (lines, duplicateLines, duplicateLineChars) = Duplicates(text, "\n");
        if ((double)duplicateLines / lines > settings.MaxDuplicateLineShare)
            return RepeatedLines;
        if ((double)duplicateLineChars / text.Length > settings.MaxDuplicateLineCharShare)
            return RepeatedLineChars;

        for (var n = 2; n <= 4; n++)
        {
            if ((double)TopNGramChars(words, n) / text.Length > settings.MaxTopNGramCharShare[n - 2])
                return TopNGram(n);
        }
        for (var n = 5; n <= 10; n++)
        {
            if ((double)DuplicateNGramChars(words, n) / text.Length > settings.MaxDuplicateNGramCharShare[n - 5])
                return DuplicateNGrams(n);
        }
        return null;
    }

    /// <summary>Splits on the separator (runs of it count once) and counts the pieces that repeat an earlier one, and their characters.</summary>
    private static (int Pieces, int Duplicates, long DuplicateChars) Duplicates(string text, string separator)
    {
        var seen = Table(text.AsSpan().Count('\n') + 1);
        int pieces = 0, duplicates = 0;
        long duplicateChars = 0;
        var span = text.AsSpan().Trim('\n');
        while (true)
        {
            var end = span.IndexOf(separator, StringComparison.Ordinal);
            var piece = end < 0 ? span : span[..end];
            pieces++;
            if (seen.Increment(XxHash3.HashToUInt64(MemoryMarshal.AsBytes(piece))) > 1)
            {
                duplicates++;
                duplicateChars += piece.Length;
            }
            if (end < 0)
                break;
            span = span[(end + separator.Length)..].TrimStart('\n');
        }
        return (pieces, duplicates, duplicateChars);
    }

    /// <summary>Characters covered by the most frequent n-gram (joined with spaces), times its count.</summary>
    private static long TopNGramChars(List<Word> words, int n)
    {
        if (words.Count < n)
            return 0;
        var counts = Table(words.Count);
        long best = 0;
        var bestCount = 0;
        for (var i = 0; i + n <= words.Count; i++)
        {
            var count = counts.Increment(NGramHash(words, i, n));
            if (count > bestCount)
            {
                bestCount = count;
                best = (long)count * NGramChars(words, i, n, spaces: true);
            }
        }
        return best;
    }

    /// <summary>Characters in n-grams that repeat an earlier one; after a repeat the scan skips past it, as Gopher does.</summary>
    private static long DuplicateNGramChars(List<Word> words, int n)
    {
        var seen = Table(words.Count);
        long repeated = 0;
        var i = 0;
        while (i + n <= words.Count)
        {
            if (seen.Increment(NGramHash(words, i, n)) > 1)
            {
                repeated += NGramChars(words, i, n, spaces: false);
                i += n;
            }
            else
            {
                i++;
            }
        }
        return repeated;
    }

    private static NGramTable Table(int expected)
    {
        var table = _table ??= new NGramTable();
        table.Reset(expected + 1);
        return table;
    }

    private static ulong NGramHash(List<Word> words, int start, int n)
    {
        var hash = 0xcbf29ce484222325UL;
        for (var j = start; j < start + n; j++)
            hash = (hash ^ words[j].Hash) * 0x100000001b3UL + (ulong)(j - start);
        return hash;
    }

    private static int NGramChars(List<Word> words, int start, int n, bool spaces)
    {
        var chars = spaces ? n - 1 : 0;
        for (var j = start; j < start + n; j++)
            chars += words[j].Length;
        return chars;
    }

    private static bool IsStopWord(ReadOnlySpan<char> token)
    {
        foreach (var stopWord in StopWordList)
        {
            if (token.Equals(stopWord, StringComparison.OrdinalIgnoreCase))
                return true;
        }
        return false;
    }

    private static int Count(ReadOnlySpan<char> text, string value)
    {
        var count = 0;
        int index;
        while ((index = text.IndexOf(value, StringComparison.Ordinal)) >= 0)
        {
            count++;
            text = text[(index + value.Length)..];
        }
        return count;
    }
}
