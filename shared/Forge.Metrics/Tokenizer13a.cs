using System.Text.RegularExpressions;

namespace Forge.Metrics;

/// <summary>
/// sacrebleu's default BLEU tokenizer, <c>tokenizer_13a</c>, which reproduces mteval-v13a.pl as WMT uses it.
/// </summary>
public static partial class Tokenizer13a
{
    /// <summary>Tokenizes one segment and returns its tokens joined by single spaces.</summary>
    public static string Tokenize(string line)
    {
        // The order matters: "&amp;lt;" must end up as "<", exactly as mteval does it.
        line = line.Replace("<skipped>", "", StringComparison.Ordinal)
            .Replace("-\n", "", StringComparison.Ordinal)
            .Replace("\n", " ", StringComparison.Ordinal)
            .Replace("&quot;", "\"", StringComparison.Ordinal)
            .Replace("&amp;", "&", StringComparison.Ordinal)
            .Replace("&lt;", "<", StringComparison.Ordinal)
            .Replace("&gt;", ">", StringComparison.Ordinal);

        line = $" {line} ";
        line = Symbol().Replace(line, " $1 ");
        line = PeriodOrCommaAfterNonDigit().Replace(line, "$1 $2 ");
        line = PeriodOrCommaBeforeNonDigit().Replace(line, " $1 $2");
        line = DashAfterDigit().Replace(line, "$1 $2 ");
        return string.Join(' ', PythonText.Split(line));
    }

    // sacrebleu writes this class as [\{-\~\[-\` -\&\(-\+\:-\@\/]: all ASCII punctuation and the space
    // except the apostrophe, comma, hyphen and period, which the next rules treat by context.
    [GeneratedRegex(@"([\x20-\x26\x28-\x2B\x2F\x3A-\x40\x5B-\x60\x7B-\x7E])", RegexOptions.CultureInvariant)]
    private static partial Regex Symbol();

    [GeneratedRegex(@"([^0-9])([.,])", RegexOptions.CultureInvariant)]
    private static partial Regex PeriodOrCommaAfterNonDigit();

    [GeneratedRegex(@"([.,])([^0-9])", RegexOptions.CultureInvariant)]
    private static partial Regex PeriodOrCommaBeforeNonDigit();

    [GeneratedRegex(@"([0-9])(-)", RegexOptions.CultureInvariant)]
    private static partial Regex DashAfterDigit();
}
