using Forge.Model;
using Forge.Testing;
using Forge.Tokenization;

namespace Forge.Model.Tests;

/// <summary>A character-level corpus written as token shards in a temporary folder: a fixed pseudo-random text repeated, so a tiny model can learn it by heart.</summary>
public sealed class TinyCorpus : IDisposable
{
    private readonly TemporaryFolder folder = new("model-corpus");

    public TinyCorpus(int distinctCharacters = 12, int periodLength = 48, int trainTokens = 4_000, int validationTokens = 1_000)
    {
        var random = new Random(7);
        var period = Enumerable.Range(0, periodLength).Select(_ => random.Next(distinctCharacters)).ToArray();
        VocabularySize = distinctCharacters;
        TrainPath = Write("train.bin", period, trainTokens);
        ValidationPath = Write("val.bin", period, validationTokens);
    }

    public int VocabularySize { get; }
    public string TrainPath { get; }
    public string ValidationPath { get; }
    public string Folder => folder.Path;

    public TokenDataset OpenTrain() => TokenDataset.Open(TrainPath);
    public TokenDataset OpenValidation() => TokenDataset.Open(ValidationPath);

    public string WriteShard(string name, IEnumerable<int> tokens, string tokenizerId = "chars-test", int? vocabularySize = null)
    {
        var path = Path.Combine(folder.Path, name);
        using var file = File.Create(path);
        using var writer = new TokenShardWriter(file, vocabularySize ?? VocabularySize, 0, tokenizerId);
        writer.AppendDocument(tokens.ToArray());
        writer.Complete();
        return path;
    }

    private string Write(string name, int[] period, int count) =>
        WriteShard(name, Enumerable.Range(0, count).Select(i => period[i % period.Length]));

    public void Dispose() => folder.Dispose();
}

/// <summary>Tiny models and short runs: the whole suite stays within a couple of minutes on two cores.</summary>
public static class Tiny
{
    public static GptConfig Gpt(int vocabularySize) => new()
    {
        VocabularySize = vocabularySize,
        ContextLength = 16,
        Layers = 2,
        Heads = 2,
        Width = 32,
        Bias = true,
    };

    public static GptConfig Lstm(int vocabularySize) => Gpt(vocabularySize) with { Architecture = ModelArchitecture.Lstm, Width = 48 };

    public static TrainingConfig Training(long steps) => new()
    {
        BatchSize = 8,
        MaxSteps = steps,
        LearningRate = 1e-2,
        MinLearningRate = 1e-3,
        WarmupSteps = Math.Min(10, steps / 2),
        DecaySteps = steps,
        EvaluationInterval = 0,
        EvaluationBatches = 4,
        LogInterval = 10,
        Threads = 1, // tiny tensors gain nothing from a second thread, and a busy machine makes OpenMP threads wait on each other
        Device = "cpu",
        Precision = "fp32",
    };
}

public static class Tensors
{
    /// <summary>Same shape, same type, same values, bit for bit (no NaNs expected).</summary>
    public static bool Identical(TorchSharp.torch.Tensor a, TorchSharp.torch.Tensor b) =>
        a.shape.SequenceEqual(b.shape) && a.dtype == b.dtype && a.eq(b).all().item<bool>();
}
