using System.Text;
using Forge.Model;
using Forge.Storage.Artifacts;
using Forge.Testing;
using Forge.Tokenization;

namespace Forge.Evaluator.Tests;

/// <summary>An untrained character-level GPT stored as a run's checkpoint, and shards of its tokens.</summary>
public static class TinyModel
{
    public const int Vocabulary = 16;

    private static readonly GptConfig Config = new() { VocabularySize = Vocabulary, Layers = 1, Heads = 2, Width = 16, ContextLength = 16, Dropout = 0 };

    /// <summary>Saves the model's checkpoint under <paramref name="folderKey"/>; returns its manifest's key.</summary>
    public static async Task<string> UploadAsync(IArtifactStore artifacts, string folderKey)
    {
        using var folder = new TemporaryFolder("tiny-model");
        var training = new TrainingConfig { BatchSize = 2, MaxSteps = 1, WarmupSteps = 0, DecaySteps = 1, EvaluationInterval = 0, Threads = 1, Device = "cpu", Precision = "fp32" };
        var shard = Path.Combine(folder.Path, "train.bin");
        await File.WriteAllBytesAsync(shard, Shard(400));
        var saved = Path.Combine(folder.Path, "checkpoint");
        using (var train = TokenDataset.Open(shard))
        using (var loop = new TrainingLoop(Config, training, train))
            Checkpoint.Save(loop, saved);
        foreach (var file in Directory.GetFiles(saved))
        {
            await using var stream = File.OpenRead(file);
            await artifacts.PutAsync($"{folderKey}/{Path.GetFileName(file)}", stream);
        }
        return $"{folderKey}/{Checkpoint.ManifestFile}";
    }

    /// <summary>Stores a character tokenizer of <see cref="Vocabulary"/> letters where the tokenizer service would store <paramref name="tokenizerId"/>.</summary>
    public static async Task UploadTokenizerAsync(IArtifactStore artifacts, string tokenizerId)
    {
        using var json = new MemoryStream();
        new CharTokenizer(Enumerable.Range(0, Vocabulary).Select(i => new Rune('a' + i))).Write(json);
        await artifacts.PutBytesAsync($"tokenizers/{tokenizerId}/char-tokenizer.json", json.ToArray());
    }

    /// <summary>A shard of <paramref name="tokens"/> tokens cycling through the vocabulary.</summary>
    public static byte[] Shard(int tokens)
    {
        using var buffer = new MemoryStream();
        using (var writer = new TokenShardWriter(buffer, Vocabulary, 0, "chars"))
        {
            writer.AppendDocument(Enumerable.Range(0, tokens).Select(i => i % Vocabulary).ToArray());
            writer.Complete();
        }
        return buffer.ToArray();
    }
}
