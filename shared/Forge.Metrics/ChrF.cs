namespace Forge.Metrics;

/// <summary>
/// chrF (Popović, 2015) and chrF++ (Popović, 2017) computed exactly as sacrebleu 2.x computes them.
/// </summary>
public static class ChrF
{
    // Python's string.punctuation, which sacrebleu peels off word ends for chrF++.
    private const string Punctuation = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~";

    /// <summary>
    /// Corpus chrF, sacrebleu's <c>corpus_chrf</c>: per segment the best-scoring reference's statistics
    /// are kept, and the statistics are summed before the score is taken.
    /// </summary>
    /// <param name="hypotheses">One system output per segment.</param>
    /// <param name="referenceSets">One or more reference sets, each parallel to <paramref name="hypotheses"/>; an empty string is a missing reference.</param>
    public static ChrFScore Corpus(
        IReadOnlyList<string> hypotheses,
        IReadOnlyList<IReadOnlyList<string>> referenceSets,
        ChrFOptions? options = null)
    {
        options ??= ChrFOptions.Default;
        ArgumentOutOfRangeException.ThrowIfNegative(options.CharOrder, nameof(options));
        ArgumentOutOfRangeException.ThrowIfNegative(options.WordOrder, nameof(options));
        ArgumentOutOfRangeException.ThrowIfZero(options.CharOrder + options.WordOrder, nameof(options));
        ReferenceSets.CheckParallel(hypotheses, referenceSets);

        var statistics = new int[3 * (options.CharOrder + options.WordOrder)];
        for (var segment = 0; segment < hypotheses.Count; segment++)
        {
            var best = SegmentStatistics(hypotheses[segment], ReferenceSets.ForSegment(referenceSets, segment), options);
            for (var i = 0; i < statistics.Length; i++)
                statistics[i] += best[i];
        }

        return new ChrFScore(FScore(statistics, options), options.CharOrder, options.WordOrder, options.Beta);
    }

    /// <summary>Sentence chrF, sacrebleu's <c>sentence_chrf</c>.</summary>
    public static ChrFScore Sentence(string hypothesis, IReadOnlyList<string> references, ChrFOptions? options = null) =>
        Corpus([hypothesis], ReferenceSets.OfSentence(references), options);

    // Per order a [hypothesis n-grams, reference n-grams, matches] triple, for the reference whose
    // F-score is highest (the first one on a tie).
    private static int[] SegmentStatistics(string hypothesis, List<string> references, ChrFOptions options)
    {
        var hypothesisNgrams = NGramsByOrder(hypothesis, options);
        var best = Array.Empty<int>();
        var bestScore = -1.0;
        foreach (var reference in references)
        {
            var referenceNgrams = NGramsByOrder(reference, options);
            var statistics = new int[3 * hypothesisNgrams.Count];
            for (var i = 0; i < hypothesisNgrams.Count; i++)
            {
                var referenceOrder = referenceNgrams[i];
                // A hypothesis n-gram of an order the reference lacks earns nothing and costs nothing.
                statistics[3 * i] = referenceOrder.Count > 0 ? NGrams.Total(hypothesisNgrams[i]) : 0;
                statistics[3 * i + 1] = NGrams.Total(referenceOrder);
                statistics[3 * i + 2] = NGrams.ClippedMatches(hypothesisNgrams[i], referenceOrder);
            }

            var score = FScore(statistics, options);
            if (score > bestScore)
            {
                bestScore = score;
                best = statistics;
            }
        }
        return best;
    }

    private static List<Dictionary<string, int>> NGramsByOrder(string segment, ChrFOptions options)
    {
        ArgumentNullException.ThrowIfNull(segment);
        if (options.Lowercase)
            segment = PythonText.Lower(segment);

        var characters = options.IncludeWhitespace ? segment : PythonText.RemoveWhiteSpace(segment);
        var starts = PythonText.CodePointStarts(characters);
        var byOrder = new List<Dictionary<string, int>>(options.CharOrder + options.WordOrder);
        for (var n = 1; n <= options.CharOrder; n++)
            byOrder.Add(NGrams.CountCharacters(characters, starts, n));

        if (options.WordOrder > 0)
        {
            var words = SplitPunctuation(segment);
            for (var n = 1; n <= options.WordOrder; n++)
                byOrder.Add(NGrams.CountWords(words, n));
        }
        return byOrder;
    }

    // chrF++'s primitive tokenization: one punctuation mark is split off the end of a word or, failing
    // that, off its start, so "(hi)" becomes "(hi" and ")" (sacrebleu issue #124, kept for parity).
    private static List<string> SplitPunctuation(string segment)
    {
        var words = new List<string>();
        foreach (var word in PythonText.Split(segment))
        {
            if (word.Length == 1)
            {
                words.Add(word);
            }
            else if (Punctuation.Contains(word[^1], StringComparison.Ordinal))
            {
                words.Add(word[..^1]);
                words.Add(word[^1..]);
            }
            else if (Punctuation.Contains(word[0], StringComparison.Ordinal))
            {
                words.Add(word[..1]);
                words.Add(word[1..]);
            }
            else
            {
                words.Add(word);
            }
        }
        return words;
    }

    // Arithmetic in sacrebleu's operand order, so that the doubles come out bit for bit the same.
    private static double FScore(int[] statistics, ChrFOptions options)
    {
        const double epsilon = 1e-16;
        double factor = options.Beta * options.Beta;
        var orders = statistics.Length / 3;
        var smoothedSum = 0.0;
        double averagePrecision = 0.0, averageRecall = 0.0;
        var effectiveOrder = 0;

        for (var i = 0; i < orders; i++)
        {
            var hypothesisCount = statistics[3 * i];
            var referenceCount = statistics[3 * i + 1];
            var matches = statistics[3 * i + 2];

            var precision = hypothesisCount > 0 ? (double)matches / hypothesisCount : epsilon;
            var recall = referenceCount > 0 ? (double)matches / referenceCount : epsilon;
            var denominator = factor * precision + recall;
            smoothedSum += denominator > 0 ? (1 + factor) * precision * recall / denominator : epsilon;

            if (hypothesisCount > 0 && referenceCount > 0)
            {
                averagePrecision += precision;
                averageRecall += recall;
                effectiveOrder++;
            }
        }

        if (options.EpsilonSmoothing)
            return 100 * smoothedSum / orders;

        if (effectiveOrder == 0)
            return 0.0;
        averagePrecision /= effectiveOrder;
        averageRecall /= effectiveOrder;
        if (averagePrecision + averageRecall == 0)
            return 0.0;

        var score = (1 + factor) * averagePrecision * averageRecall;
        score /= factor * averagePrecision + averageRecall;
        return 100 * score;
    }
}
