using Forge.Model;
using Forge.Testing;
using Forge.Tokenization;
using TorchSharp;

namespace Forge.Trainer.Tests;

public sealed class HeldOutLossTests : IDisposable
{
    private readonly TemporaryFolder _folder = new("held-out");

    private string Shard(string name, int vocabulary, params int[][] documents)
    {
        var path = Path.Combine(_folder.Path, name);
        using var file = File.Create(path);
        using var writer = new TokenShardWriter(file, vocabulary, 0, "test");
        foreach (var document in documents)
            writer.AppendDocument(document);
        writer.Complete();
        return path;
    }

    [Fact]
    public void AModelThatKnowsNothingHasThePerplexityOfItsVocabulary()
    {
        // All weights zero: every logit is 0, so every next token has probability 1/V and the loss is exactly ln V.
        const int Vocabulary = 50;
        using var model = LanguageModel.Create(new GptConfig { VocabularySize = Vocabulary, ContextLength = 8, Layers = 1, Heads = 2, Width = 16 });
        using (torch.no_grad())
        {
            foreach (var parameter in model.parameters())
                parameter.zero_();
        }
        var tokens = Enumerable.Range(0, 30).Select(i => i % Vocabulary).ToArray();
        using var data = TokenDataset.Open(Shard("a.bin", Vocabulary, tokens), Shard("b.bin", Vocabulary, tokens[..13]));

        var result = HeldOutLoss.Measure(model, data, batchSize: 2);

        // Every token but the first of each shard is predicted once: 29 + 12.
        Assert.Equal(41, result.Tokens);
        Assert.Equal(Math.Log(Vocabulary), result.MeanLoss, 5);
        Assert.Equal(Vocabulary, Forge.Metrics.LanguageModelMetrics.Perplexity(result.SumNll, result.Tokens), 3);
    }

    [Fact]
    public void TheLossIsTheTokenWeightedMeanOverEveryWindow()
    {
        using var model = LanguageModel.Create(new GptConfig { VocabularySize = 20, ContextLength = 4, Layers = 1, Heads = 1, Width = 8 });
        var tokens = Enumerable.Range(0, 11).Select(i => (i * 7) % 20).ToArray();
        using var data = TokenDataset.Open(Shard("c.bin", 20, tokens));

        var measured = HeldOutLoss.Measure(model, data, batchSize: 1);

        // By hand: windows [0,4), [4,8), [8,10) predict tokens 1..10, weighted by their lengths 4, 4 and 2.
        double expected = 0;
        model.eval();
        using (torch.no_grad())
        {
            foreach (var (start, length) in new[] { (0, 4), (4, 4), (8, 2) })
            {
                var x = torch.tensor(tokens[start..(start + length)].Select(t => (long)t).ToArray(), [1, length]);
                var y = torch.tensor(tokens[(start + 1)..(start + length + 1)].Select(t => (long)t).ToArray(), [1, length]);
                expected += model.Loss(x, y).item<float>() * length;
            }
        }
        Assert.Equal(10, measured.Tokens);
        Assert.Equal(expected, measured.SumNll, 4);
    }

    public void Dispose() => _folder.Dispose();
}
