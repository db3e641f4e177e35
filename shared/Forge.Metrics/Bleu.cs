namespace Forge.Metrics;

/// <summary>
/// BLEU (Papineni et al., 2002) computed exactly as sacrebleu 2.x computes it.
/// </summary>
public static class Bleu
{
    // sacrebleu's my_log: log(0) is floored so that a zero precision drives the score to 0 without NaN.
    private const double LogOfZero = -9999999999;

    /// <summary>
    /// Corpus BLEU, sacrebleu's <c>corpus_bleu</c>: statistics are summed over all segments before the
    /// score is taken.
    /// </summary>
    /// <param name="hypotheses">One system output per segment; an empty one counts as zero tokens.</param>
    /// <param name="referenceSets">One or more reference sets, each parallel to <paramref name="hypotheses"/>; an empty string is a missing reference.</param>
    public static BleuScore Corpus(
        IReadOnlyList<string> hypotheses,
        IReadOnlyList<IReadOnlyList<string>> referenceSets,
        BleuOptions? options = null)
    {
        options ??= BleuOptions.Default;
        return Score(hypotheses, referenceSets, options, options.EffectiveOrder ?? false);
    }

    /// <summary>
    /// Sentence BLEU, sacrebleu's <c>sentence_bleu</c>: exp smoothing and, unless the options say
    /// otherwise, the effective order.
    /// </summary>
    public static BleuScore Sentence(string hypothesis, IReadOnlyList<string> references, BleuOptions? options = null)
    {
        options ??= BleuOptions.Default;
        return Score([hypothesis], ReferenceSets.OfSentence(references), options, options.EffectiveOrder ?? true);
    }

    /// <summary>
    /// BLEU from already summed statistics, sacrebleu's <c>BLEU.compute_bleu</c>; lets shards of an
    /// evaluation be scored as one corpus.
    /// </summary>
    public static BleuScore FromStatistics(
        IReadOnlyList<int> counts,
        IReadOnlyList<int> totals,
        int systemLength,
        int referenceLength,
        BleuOptions? options = null)
    {
        options ??= BleuOptions.Default;
        ArgumentNullException.ThrowIfNull(counts);
        ArgumentNullException.ThrowIfNull(totals);
        CheckOrder(options);
        if (counts.Count != options.MaxNgramOrder || totals.Count != options.MaxNgramOrder)
            throw new ArgumentException($"Counts and totals need one entry per order up to {options.MaxNgramOrder}.");
        return Compute([.. counts], [.. totals], systemLength, referenceLength, options, options.EffectiveOrder ?? false);
    }

    private static BleuScore Score(
        IReadOnlyList<string> hypotheses,
        IReadOnlyList<IReadOnlyList<string>> referenceSets,
        BleuOptions options,
        bool effectiveOrder)
    {
        CheckOrder(options);
        ReferenceSets.CheckParallel(hypotheses, referenceSets);
        var order = options.MaxNgramOrder;
        var counts = new int[order];
        var totals = new int[order];
        var systemLength = 0;
        var referenceLength = 0;

        for (var segment = 0; segment < hypotheses.Count; segment++)
        {
            var references = ReferenceSets.ForSegment(referenceSets, segment).Select(r => Tokens(r, options)).ToList();
            var referenceNgrams = MaxCountsOverReferences(references, order);
            var hypothesis = Tokens(hypotheses[segment], options);

            systemLength += hypothesis.Count;
            referenceLength += ClosestLength(hypothesis.Count, references);
            for (var n = 1; n <= order; n++)
            {
                var hypothesisNgrams = NGrams.CountWords(hypothesis, n);
                totals[n - 1] += NGrams.Total(hypothesisNgrams);
                counts[n - 1] += NGrams.ClippedMatches(hypothesisNgrams, referenceNgrams[n - 1]);
            }
        }

        return Compute(counts, totals, systemLength, referenceLength, options, effectiveOrder);
    }

    private static void CheckOrder(BleuOptions options) =>
        ArgumentOutOfRangeException.ThrowIfLessThan(options.MaxNgramOrder, 1, nameof(options));

    private static List<string> Tokens(string segment, BleuOptions options)
    {
        ArgumentNullException.ThrowIfNull(segment);
        if (options.Lowercase)
            segment = PythonText.Lower(segment);
        segment = PythonText.TrimEnd(segment);
        if (options.Tokenizer == BleuTokenizer.ThirteenA)
            segment = Tokenizer13a.Tokenize(segment);
        return PythonText.Split(segment);
    }

    // A hypothesis n-gram is credited up to the most times any single reference holds it.
    private static List<Dictionary<string, int>> MaxCountsOverReferences(List<List<string>> references, int order)
    {
        var merged = new List<Dictionary<string, int>>(order);
        for (var n = 1; n <= order; n++)
        {
            var counts = new Dictionary<string, int>(StringComparer.Ordinal);
            foreach (var reference in references)
            {
                foreach (var (ngram, count) in NGrams.CountWords(reference, n))
                    counts[ngram] = Math.Max(counts.GetValueOrDefault(ngram), count);
            }
            merged.Add(counts);
        }
        return merged;
    }

    // The reference length closest to the hypothesis; on a tie the shorter one, which penalises more.
    private static int ClosestLength(int hypothesisLength, List<List<string>> references)
    {
        int closestDifference = -1, closestLength = -1;
        foreach (var reference in references)
        {
            var difference = Math.Abs(hypothesisLength - reference.Count);
            if (closestDifference == -1 || difference < closestDifference)
            {
                closestDifference = difference;
                closestLength = reference.Count;
            }
            else if (difference == closestDifference && reference.Count < closestLength)
            {
                closestLength = reference.Count;
            }
        }
        return closestLength;
    }

    // Every arithmetic step keeps sacrebleu's operand order so that the doubles come out bit for bit the same.
    private static BleuScore Compute(
        int[] counts,
        int[] totals,
        int systemLength,
        int referenceLength,
        BleuOptions options,
        bool effectiveOrder)
    {
        var order = options.MaxNgramOrder;
        var smoothValue = options.SmoothValue ?? options.Smoothing switch
        {
            BleuSmoothing.Floor => 0.1,
            BleuSmoothing.AddK => 1.0,
            _ => 0.0,
        };

        var brevityPenalty = systemLength < referenceLength
            ? systemLength > 0 ? Math.Exp(1 - (double)referenceLength / systemLength) : 0.0
            : 1.0;
        var precisions = new double[order];

        // With no match at all the score is 0 whatever the smoothing (sacrebleu #141).
        if (counts.All(count => count == 0))
            return new BleuScore(0.0, counts, totals, precisions, brevityPenalty, systemLength, referenceLength);

        var mtevalSmoothing = 1.0;
        var usedOrders = order;
        for (var n = 1; n <= order; n++)
        {
            double correct = counts[n - 1];
            double total = totals[n - 1];
            if (options.Smoothing == BleuSmoothing.AddK && n > 1)
            {
                correct += smoothValue;
                total += smoothValue;
            }

            if (total == 0)
                break;
            if (effectiveOrder)
                usedOrders = n;

            if (correct == 0)
            {
                if (options.Smoothing == BleuSmoothing.Exp)
                {
                    mtevalSmoothing *= 2;
                    precisions[n - 1] = 100.0 / (mtevalSmoothing * total);
                }
                else if (options.Smoothing == BleuSmoothing.Floor)
                {
                    precisions[n - 1] = 100.0 * smoothValue / total;
                }
            }
            else
            {
                precisions[n - 1] = 100.0 * correct / total;
            }
        }

        var logSum = 0.0;
        for (var n = 0; n < usedOrders; n++)
            logSum += precisions[n] == 0.0 ? LogOfZero : Math.Log(precisions[n]);
        var score = brevityPenalty * Math.Exp(logSum / usedOrders);

        return new BleuScore(score, counts, totals, precisions, brevityPenalty, systemLength, referenceLength);
    }
}
