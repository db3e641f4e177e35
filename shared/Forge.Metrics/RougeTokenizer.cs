namespace Forge.Metrics;

/// <summary>rouge-score's <c>DefaultTokenizer</c>.</summary>
internal static class RougeTokenizer
{
    /// <summary>
    /// Lowercases, keeps the runs of [a-z0-9] (rouge-score replaces everything else with spaces and
    /// splits on whitespace) and, when asked, stems the tokens longer than three characters.
    /// </summary>
    public static List<string> Tokenize(string text, bool useStemmer)
    {
        ArgumentNullException.ThrowIfNull(text);
        var lowered = PythonText.Lower(text);
        var tokens = new List<string>();
        var start = -1;
        for (var i = 0; i <= lowered.Length; i++)
        {
            if (i < lowered.Length && lowered[i] is (>= 'a' and <= 'z') or (>= '0' and <= '9'))
            {
                if (start < 0)
                    start = i;
                continue;
            }
            if (start >= 0)
            {
                var token = lowered[start..i];
                // The stemmer maps [a-z0-9]+ to non-empty [a-z0-9]+, so rouge-score's last filter, which
                // drops tokens that are not, has nothing left to drop.
                tokens.Add(useStemmer && token.Length > 3 ? PorterStemmer.Stem(token) : token);
                start = -1;
            }
        }
        return tokens;
    }
}
