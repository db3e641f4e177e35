using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using Forge.Model;
using Forge.Testing;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Forge.Model.Tests;

public sealed class CheckpointTests : IDisposable
{
    private readonly TinyCorpus corpus = new();
    private static readonly JsonSerializerOptions Web = new(JsonSerializerDefaults.Web);
    private readonly TemporaryFolder folder = new("checkpoints");

    public void Dispose()
    {
        corpus.Dispose();
        folder.Dispose();
    }

    private static TrainingConfig Training(long steps) => Tiny.Training(steps) with { GradientAccumulationSteps = 2, EvaluationInterval = 0 };

    private static GptConfig Model(ModelArchitecture architecture, int vocabularySize) =>
        (architecture == ModelArchitecture.Gpt ? Tiny.Gpt(vocabularySize) : Tiny.Lstm(vocabularySize)) with { Dropout = 0.1 };

    [Theory]
    [InlineData(ModelArchitecture.Gpt)]
    [InlineData(ModelArchitecture.Lstm)]
    public void StoppingAndResumingGivesExactlyTheLossesOfAnUninterruptedRun(ModelArchitecture architecture)
    {
        using var train = corpus.OpenTrain();
        var config = Model(architecture, corpus.VocabularySize);
        var uninterrupted = new List<double>();
        float[] uninterruptedWeights;
        using (var loop = new TrainingLoop(config, Training(24), train))
        {
            loop.StepCompleted += (_, step) => uninterrupted.Add(step.Loss);
            loop.Run();
            uninterruptedWeights = loop.Model.TokenEmbeddingWeight.data<float>().ToArray();
        }

        var resumed = new List<double>();
        using (var loop = new TrainingLoop(config, Training(24), train))
        {
            loop.StepCompleted += (_, step) => resumed.Add(step.Loss);
            loop.RunUntil(10);
            Checkpoint.Save(loop, folder.Path);
            loop.RunUntil(13); // diverge from the checkpoint, to prove the resumed run does not reuse this loop's state
        }
        resumed.RemoveRange(10, 3);
        using (var loop = TrainingLoop.Resume(Checkpoint.OpenFolder(folder.Path), train))
        {
            Assert.Equal(10, loop.Step);
            loop.StepCompleted += (_, step) => resumed.Add(step.Loss);
            loop.Run();
            Assert.Equal(uninterruptedWeights, loop.Model.TokenEmbeddingWeight.data<float>().ToArray());
        }

        Assert.Equal(uninterrupted, resumed);
    }

    [Fact]
    public void ACheckpointRoundTripsWeightsAndOptimizerStateExactly()
    {
        using var train = corpus.OpenTrain();
        using var original = new TrainingLoop(Model(ModelArchitecture.Gpt, corpus.VocabularySize), Training(20), train);
        original.RunUntil(7);

        Checkpoint.Save(original, folder.Path);
        using var restored = TrainingLoop.Resume(Checkpoint.OpenFolder(folder.Path), train);

        var before = original.Model.state_dict();
        var after = restored.Model.state_dict();
        Assert.Equal(before.Keys, after.Keys);
        Assert.All(before, p => Assert.True(Tensors.Identical(p.Value, after[p.Key]), p.Key));
        var beforeStates = original.Optimizer.state_dict().State.Cast<AdamW.State>().ToList();
        var afterStates = restored.Optimizer.state_dict().State.Cast<AdamW.State>().ToList();
        Assert.Equal(beforeStates.Count, afterStates.Count);
        Assert.All(beforeStates.Zip(afterStates), pair =>
        {
            Assert.Equal(7, pair.Second.step);
            Assert.True(Tensors.Identical(pair.First.exp_avg, pair.Second.exp_avg));
            Assert.True(Tensors.Identical(pair.First.exp_avg_sq, pair.Second.exp_avg_sq));
        });
        Assert.Equal(original.TokensSeen, restored.TokensSeen);
        Assert.Equal(original.SamplerState, restored.SamplerState);
        Assert.Equal(original.Training, restored.Training);
    }

    [Fact]
    public void CheckpointsTravelAsNamedStreamsWithTheManifestLast()
    {
        using var train = corpus.OpenTrain();
        using var loop = new TrainingLoop(Model(ModelArchitecture.Gpt, corpus.VocabularySize), Training(20), train);
        loop.RunUntil(3);
        var store = new Dictionary<string, byte[]>();
        var order = new List<string>();
        Stream Create(string name)
        {
            order.Add(name);
            return new StoredOnDispose(bytes => store[name] = bytes);
        }

        var manifest = Checkpoint.Write(loop, Create);
        using (var stream = Create(Checkpoint.ManifestFile))
            Checkpoint.WriteManifest(manifest, stream);

        Assert.Equal([Checkpoint.ModelFile, Checkpoint.OptimizerFile, Checkpoint.TrainerFile, Checkpoint.ManifestFile], order);
        Assert.All(manifest.Files, f => Assert.Equal(store[f.Name].Length, f.Bytes));
        using var model = Checkpoint.LoadModel(name => new MemoryStream(store[name]));
        Assert.True(Tensors.Identical(model.state_dict()["tokenEmbedding.weight"], loop.Model.state_dict()["tokenEmbedding.weight"]));
        Assert.False(model.training);
    }

    [Fact]
    public void TheModelFileIsPlainSafetensorsThatDescribesItself()
    {
        using var train = corpus.OpenTrain();
        using var loop = new TrainingLoop(Model(ModelArchitecture.Gpt, corpus.VocabularySize), Training(20), train);
        Checkpoint.Save(loop, folder.Path);

        var bytes = File.ReadAllBytes(Path.Combine(folder.Path, Checkpoint.ModelFile));
        var headerLength = BinaryPrimitives.ReadInt64LittleEndian(bytes);
        using var header = JsonDocument.Parse(Encoding.UTF8.GetString(bytes, 8, (int)headerLength));

        var embedding = header.RootElement.GetProperty("tokenEmbedding.weight");
        Assert.Equal("F32", embedding.GetProperty("dtype").GetString());
        Assert.Equal([12, 32], embedding.GetProperty("shape").EnumerateArray().Select(d => d.GetInt32()));
        var metadata = header.RootElement.GetProperty("__metadata__");
        Assert.Equal("chars-test", metadata.GetProperty("tokenizer").GetString());
        Assert.Equal(loop.ModelConfig, JsonSerializer.Deserialize<GptConfig>(metadata.GetProperty("config").GetString()!, Web));
        Assert.False(header.RootElement.TryGetProperty("blocks.0.attention.rotary.cos", out _));
    }

    [Fact]
    public void ACheckpointWithoutItsManifestIsIncompleteAndIsNotRead()
    {
        using var train = corpus.OpenTrain();
        using var loop = new TrainingLoop(Model(ModelArchitecture.Gpt, corpus.VocabularySize), Training(20), train);
        Checkpoint.Save(loop, folder.Path);
        File.Delete(Path.Combine(folder.Path, Checkpoint.ManifestFile));

        Assert.False(Checkpoint.IsComplete(folder.Path));
        var error = Assert.Throws<InvalidDataException>(() => Checkpoint.OpenFolder(folder.Path));
        Assert.Contains("manifest.json is missing", error.Message, StringComparison.Ordinal);
        var viaStreams = Assert.Throws<InvalidDataException>(() => Checkpoint.LoadModel(name => File.OpenRead(Path.Combine(folder.Path, name))));
        Assert.Contains("incomplete", viaStreams.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ACorruptedFileIsCaughtByItsHash()
    {
        using var train = corpus.OpenTrain();
        using var loop = new TrainingLoop(Model(ModelArchitecture.Gpt, corpus.VocabularySize), Training(20), train);
        Checkpoint.Save(loop, folder.Path);
        var path = Path.Combine(folder.Path, Checkpoint.OptimizerFile);
        var bytes = File.ReadAllBytes(path);
        bytes[^3] ^= 0x40;
        File.WriteAllBytes(path, bytes);

        var error = Assert.Throws<InvalidDataException>(() => TrainingLoop.Resume(Checkpoint.OpenFolder(folder.Path), train).Dispose());

        Assert.Contains("optimizer.safetensors does not match the SHA-256", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void WeightsOfAnotherShapeAreRefusedWithTheMismatchNamed()
    {
        manual_seed(1);
        using var narrow = new Gpt(Tiny.Gpt(12));
        using var wide = new Gpt(Tiny.Gpt(12) with { Width = 48, Layers = 3 });
        using var file = new MemoryStream();
        SafeTensors.Write(file, narrow.state_dict().Select(p => (p.Key, p.Value)));
        file.Position = 0;
        var before = wide.state_dict()["tokenEmbedding.weight"].clone();

        var error = Assert.Throws<InvalidDataException>(() => Checkpoint.LoadWeights(wide, file));

        Assert.Contains("'tokenEmbedding.weight' is [12, 32] in the file but [12, 48] here", error.Message, StringComparison.Ordinal);
        Assert.Contains("missing blocks.2.", error.Message, StringComparison.Ordinal);
        Assert.True(Tensors.Identical(before, wide.state_dict()["tokenEmbedding.weight"]), "nothing is copied when anything does not fit");
    }

    [Fact]
    public void ResumingOnDataFromAnotherTokenizerIsRefused()
    {
        using (var train = corpus.OpenTrain())
        using (var loop = new TrainingLoop(Model(ModelArchitecture.Gpt, corpus.VocabularySize), Training(20), train))
            Checkpoint.Save(loop, folder.Path);
        using var other = TokenDataset.Open(corpus.WriteShard("other.bin", Enumerable.Range(0, 500).Select(i => i % 12), tokenizerId: "bpe-2"));

        var error = Assert.Throws<InvalidDataException>(() => TrainingLoop.Resume(Checkpoint.OpenFolder(folder.Path), other).Dispose());

        Assert.Contains("tokenizer 'chars-test'", error.Message, StringComparison.Ordinal);
    }

    /// <summary>A stream that hands its bytes over when disposed, as an artifact store upload would.</summary>
    private sealed class StoredOnDispose(Action<byte[]> store) : MemoryStream
    {
        protected override void Dispose(bool disposing)
        {
            if (disposing)
                store(ToArray());
            base.Dispose(disposing);
        }
    }
}
