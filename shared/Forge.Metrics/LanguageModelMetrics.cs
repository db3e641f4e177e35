using System.Text;

namespace Forge.Metrics;

/// <summary>
/// Loss-based measures of a language model, from the negative log-likelihood summed over an
/// evaluation set. Summing first and dividing last weights every token (or byte) equally, however
/// the set was split into batches.
/// </summary>
public static class LanguageModelMetrics
{
    /// <summary>Mean loss per token in nats.</summary>
    public static double MeanLoss(double negativeLogLikelihoodNats, long tokenCount)
    {
        CheckNegativeLogLikelihood(negativeLogLikelihoodNats);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(tokenCount);
        return negativeLogLikelihoodNats / tokenCount;
    }

    /// <summary>Per-token perplexity: e to the mean loss in nats.</summary>
    public static double Perplexity(double negativeLogLikelihoodNats, long tokenCount) =>
        Math.Exp(MeanLoss(negativeLogLikelihoodNats, tokenCount));

    /// <summary>
    /// Bits per UTF-8 byte of the evaluated text: comparable across tokenizers, since the byte count
    /// does not depend on how the text was cut into tokens.
    /// </summary>
    public static double BitsPerByte(double negativeLogLikelihoodNats, long byteCount)
    {
        CheckNegativeLogLikelihood(negativeLogLikelihoodNats);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(byteCount);
        return negativeLogLikelihoodNats / byteCount / Math.Log(2);
    }

    /// <summary>Bits per byte, counting the bytes of <paramref name="text"/> in UTF-8.</summary>
    public static double BitsPerByte(double negativeLogLikelihoodNats, string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        return BitsPerByte(negativeLogLikelihoodNats, Encoding.UTF8.GetByteCount(text));
    }

    private static void CheckNegativeLogLikelihood(double negativeLogLikelihoodNats)
    {
        // A negative or NaN sum means the caller summed log-likelihoods, not their negatives.
        if (double.IsNaN(negativeLogLikelihoodNats) || negativeLogLikelihoodNats < 0)
            throw new ArgumentOutOfRangeException(nameof(negativeLogLikelihoodNats), negativeLogLikelihoodNats, "The negative log-likelihood must be a non-negative number.");
    }
}
