using Forge.Model;

namespace Forge.Model.Tests;

public sealed class BatchSamplerTests : IDisposable
{
    private readonly TinyCorpus corpus = new();

    public void Dispose() => corpus.Dispose();

    [Fact]
    public void TargetsAreTheInputsShiftedByOneToken()
    {
        using var data = TokenDataset.Open(corpus.WriteShard("counting.bin", Enumerable.Range(0, 1000).Select(i => i % 10), vocabularySize: 10));
        var sampler = new BatchSampler(data, 8, new BatchRandom(1));
        var inputs = new long[4 * 8];
        var targets = new long[4 * 8];

        sampler.Fill(inputs, targets);

        for (var i = 0; i < inputs.Length; i++)
            Assert.Equal((inputs[i] + 1) % 10, targets[i]);
    }

    [Fact]
    public void WindowsComeFromEveryShardButNeverCrossOne()
    {
        using var data = TokenDataset.Open(
            corpus.WriteShard("low.bin", Enumerable.Repeat(1, 20)),
            corpus.WriteShard("tiny.bin", Enumerable.Repeat(2, 3)),
            corpus.WriteShard("high.bin", Enumerable.Repeat(3, 20)));
        var sampler = new BatchSampler(data, 5, new BatchRandom(9));
        var inputs = new long[200 * 5];
        var targets = new long[200 * 5];

        sampler.Fill(inputs, targets);

        Assert.Equal(2 * 15, sampler.Windows);
        var rows = inputs.Chunk(5).Zip(targets.Chunk(5), (i, t) => i.Concat(t).Distinct().ToArray()).ToArray();
        Assert.All(rows, row => Assert.Single(row));
        Assert.Equal([1L, 3L], rows.Select(r => r[0]).Distinct().Order());
    }

    [Fact]
    public void EveryStartPositionIsDrawnAndNoOther()
    {
        using var data = TokenDataset.Open(corpus.WriteShard("short.bin", [0, 1, 2, 3, 4, 5]));
        var sampler = new BatchSampler(data, 3, new BatchRandom(4));
        var inputs = new long[300 * 3];

        sampler.Fill(inputs, new long[inputs.Length]);

        Assert.Equal([0L, 1L, 2L], inputs.Chunk(3).Select(row => row[0]).Distinct().Order());
    }

    [Fact]
    public void RestoringTheGeneratorStateDrawsTheSameWindowsAgain()
    {
        using var data = corpus.OpenTrain();
        var sampler = new BatchSampler(data, 16, new BatchRandom(5));
        sampler.Fill(new long[16], new long[16]);
        var state = sampler.Random.State;
        var first = new long[64];
        sampler.Fill(first, new long[64]);

        var again = new BatchSampler(data, 16, new BatchRandom(0));
        again.Random.State = state;
        var second = new long[64];
        again.Fill(second, new long[64]);

        Assert.Equal(first, second);
    }

    [Fact]
    public void AGeneratorStateIsSixtyFourHexDigitsAndNeverAllZero()
    {
        var random = new BatchRandom(1);

        Assert.Matches("^[0-9a-f]{64}$", random.State);
        Assert.Throws<FormatException>(() => random.State = "xyz");
        Assert.Throws<FormatException>(() => random.State = new string('0', 64));
    }

    [Fact]
    public void DrawsBelowABoundAreUniform()
    {
        var random = new BatchRandom(11);
        var counts = new int[6];

        for (var i = 0; i < 60_000; i++)
            counts[random.NextBelow(6)]++;

        Assert.All(counts, c => Assert.InRange(c, 9_500, 10_500));
    }

    [Fact]
    public void ShardsFromDifferentTokenizersDoNotMakeOneDataset()
    {
        var error = Assert.Throws<InvalidDataException>(() => TokenDataset.Open(
            corpus.WriteShard("a.bin", [1, 2, 3], tokenizerId: "one"),
            corpus.WriteShard("b.bin", [1, 2, 3], tokenizerId: "two")));

        Assert.Contains("different tokenizers (one, two)", error.Message, StringComparison.Ordinal);
    }
}
