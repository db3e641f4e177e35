namespace Forge.Metrics;

/// <summary>
/// ROUGE (Lin, 2004) computed exactly as Google's rouge-score package computes it.
/// </summary>
public static class Rouge
{
    public const string Rouge1 = "rouge1";
    public const string Rouge2 = "rouge2";
    public const string RougeL = "rougeL";
    public const string RougeLsum = "rougeLsum";

    /// <summary>
    /// Scores a prediction against one target, rouge-score's <c>RougeScorer.score(target, prediction)</c>.
    /// </summary>
    /// <returns>One score per requested type, keyed by its rouge-score name.</returns>
    public static IReadOnlyDictionary<string, RougeScore> Score(string target, string prediction, RougeOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(target);
        ArgumentNullException.ThrowIfNull(prediction);
        options ??= RougeOptions.Default;

        var targetTokens = RougeTokenizer.Tokenize(target, options.UseStemmer);
        var predictionTokens = RougeTokenizer.Tokenize(prediction, options.UseStemmer);
        var scores = new Dictionary<string, RougeScore>(StringComparer.Ordinal);
        foreach (var type in options.Types)
        {
            scores[type] = type switch
            {
                RougeL => LongestCommonSubsequence(targetTokens, predictionTokens),
                RougeLsum => SummaryLevelLongestCommonSubsequence(
                    Sentences(target).Select(s => RougeTokenizer.Tokenize(s, options.UseStemmer)).ToList(),
                    Sentences(prediction).Select(s => RougeTokenizer.Tokenize(s, options.UseStemmer)).ToList()),
                _ => NGramOverlap(targetTokens, predictionTokens, NGramOrder(type)),
            };
        }
        return scores;
    }

    /// <summary>
    /// Scores a prediction against several targets, rouge-score's <c>score_multi</c>: per type, the
    /// score of the target with the highest F-measure (the first one on a tie).
    /// </summary>
    public static IReadOnlyDictionary<string, RougeScore> ScoreMulti(
        IReadOnlyList<string> targets,
        string prediction,
        RougeOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(targets);
        if (targets.Count == 0)
            throw new ArgumentException("At least one target is needed.", nameof(targets));
        options ??= RougeOptions.Default;

        var perTarget = targets.Select(target => Score(target, prediction, options)).ToList();
        var best = new Dictionary<string, RougeScore>(StringComparer.Ordinal);
        foreach (var type in options.Types)
        {
            var bestScore = perTarget[0][type];
            foreach (var scores in perTarget.Skip(1))
            {
                if (scores[type].FMeasure > bestScore.FMeasure)
                    bestScore = scores[type];
            }
            best[type] = bestScore;
        }
        return best;
    }

    private static int NGramOrder(string type)
    {
        if (type.Length == 6 && type.StartsWith("rouge", StringComparison.Ordinal) && type[5] is >= '1' and <= '9')
            return type[5] - '0';
        throw new ArgumentException($"Invalid rouge type: {type}", nameof(type));
    }

    // rougeLsum takes each line as a sentence; empty lines are dropped, whitespace-only ones kept.
    private static IEnumerable<string> Sentences(string text) =>
        text.Split('\n').Where(sentence => sentence.Length > 0);

    private static RougeScore NGramOverlap(List<string> target, List<string> prediction, int order)
    {
        var targetNgrams = NGrams.CountWords(target, order);
        var predictionNgrams = NGrams.CountWords(prediction, order);
        double overlap = NGrams.ClippedMatches(targetNgrams, predictionNgrams);
        return RougeScore.Of(
            overlap / Math.Max(NGrams.Total(predictionNgrams), 1),
            overlap / Math.Max(NGrams.Total(targetNgrams), 1));
    }

    private static RougeScore LongestCommonSubsequence(List<string> target, List<string> prediction)
    {
        if (target.Count == 0 || prediction.Count == 0)
            return RougeScore.Zero;
        double length = LcsTable(target, prediction)[target.Count, prediction.Count];
        return RougeScore.Of(length / prediction.Count, length / target.Count);
    }

    // Summary-level LCS (section 3.2 of the ROUGE paper) with ROUGE-1.5.5's guard against counting a
    // token more often than it occurs in either summary.
    internal static RougeScore SummaryLevelLongestCommonSubsequence(List<List<string>> targetSentences, List<List<string>> predictionSentences)
    {
        if (targetSentences.Count == 0 || predictionSentences.Count == 0)
            return RougeScore.Zero;
        var targetLength = targetSentences.Sum(sentence => sentence.Count);
        var predictionLength = predictionSentences.Sum(sentence => sentence.Count);
        if (targetLength == 0 || predictionLength == 0)
            return RougeScore.Zero;

        var targetLeft = TokenCounts(targetSentences);
        var predictionLeft = TokenCounts(predictionSentences);
        var hits = 0;
        foreach (var sentence in targetSentences)
        {
            foreach (var token in UnionLongestCommonSubsequence(sentence, predictionSentences))
            {
                if (predictionLeft.GetValueOrDefault(token) > 0 && targetLeft.GetValueOrDefault(token) > 0)
                {
                    hits++;
                    predictionLeft[token]--;
                    targetLeft[token]--;
                }
            }
        }

        return RougeScore.Of((double)hits / predictionLength, (double)hits / targetLength);
    }

    private static Dictionary<string, int> TokenCounts(List<List<string>> sentences)
    {
        var counts = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var token in sentences.SelectMany(sentence => sentence))
            counts[token] = counts.GetValueOrDefault(token) + 1;
        return counts;
    }

    // The target tokens that lie on an LCS with any prediction sentence, in target order.
    internal static IEnumerable<string> UnionLongestCommonSubsequence(List<string> target, List<List<string>> predictionSentences)
    {
        var positions = new SortedSet<int>();
        foreach (var prediction in predictionSentences)
            positions.UnionWith(LcsPositions(target, prediction));
        return positions.Select(position => target[position]);
    }

    internal static int[,] LcsTable(IReadOnlyList<string> target, IReadOnlyList<string> prediction)
    {
        var table = new int[target.Count + 1, prediction.Count + 1];
        for (var i = 1; i <= target.Count; i++)
        {
            for (var j = 1; j <= prediction.Count; j++)
            {
                table[i, j] = string.Equals(target[i - 1], prediction[j - 1], StringComparison.Ordinal)
                    ? table[i - 1, j - 1] + 1
                    : Math.Max(table[i - 1, j], table[i, j - 1]);
            }
        }
        return table;
    }

    // Reads one LCS back from the table; which one, when several exist, follows rouge-score's tie-breaking.
    internal static List<int> LcsPositions(IReadOnlyList<string> target, IReadOnlyList<string> prediction)
    {
        var table = LcsTable(target, prediction);
        var positions = new List<int>();
        int i = target.Count, j = prediction.Count;
        while (i > 0 && j > 0)
        {
            if (string.Equals(target[i - 1], prediction[j - 1], StringComparison.Ordinal))
            {
                positions.Add(i - 1);
                i--;
                j--;
            }
            else if (table[i, j - 1] > table[i - 1, j])
            {
                j--;
            }
            else
            {
                i--;
            }
        }
        positions.Reverse();
        return positions;
    }
}
