using Forge.Metrics;

namespace Forge.Metrics.Tests;

public sealed class LanguageModelMetricsTests
{
    [Fact]
    public void PerplexityIsEToTheTokenWeightedMeanLoss()
    {
        // Three batches with NLL sums ln 2, 2 ln 2 and 3 ln 2 over 1, 1 and 1 tokens: the mean is
        // 6 ln 2 / 3 = 2 ln 2 nats per token and the perplexity e^(2 ln 2) = 4.
        var nll = Math.Log(2) + 2 * Math.Log(2) + 3 * Math.Log(2);

        Assert.Equal(2 * Math.Log(2), LanguageModelMetrics.MeanLoss(nll, 3), 1e-15);
        Assert.Equal(4.0, LanguageModelMetrics.Perplexity(nll, 3), 1e-12);
    }

    [Fact]
    public void PerfectPredictionHasPerplexityOne()
    {
        Assert.Equal(1.0, LanguageModelMetrics.Perplexity(0, 10));
    }

    [Fact]
    public void BitsPerByteConvertsNatsToBitsOverUtf8Bytes()
    {
        // 8 ln 2 nats are 8 bits; over 4 bytes that is 2 bits per byte. "héllo" is 6 bytes in UTF-8
        // (é takes two), so 6 ln 2 nats over it is 1 bit per byte.
        Assert.Equal(2.0, LanguageModelMetrics.BitsPerByte(8 * Math.Log(2), 4), 1e-12);
        Assert.Equal(1.0, LanguageModelMetrics.BitsPerByte(6 * Math.Log(2), "héllo"), 1e-12);
    }

    [Fact]
    public void NothingToAverageOrANegativeLossIsRefused()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => LanguageModelMetrics.MeanLoss(1, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => LanguageModelMetrics.Perplexity(-1, 5));
        Assert.Throws<ArgumentOutOfRangeException>(() => LanguageModelMetrics.BitsPerByte(double.NaN, 5));
        Assert.Throws<ArgumentOutOfRangeException>(() => LanguageModelMetrics.BitsPerByte(1, ""));
    }
}
