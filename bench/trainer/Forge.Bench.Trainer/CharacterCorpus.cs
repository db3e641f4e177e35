using Forge.Tokenization;

namespace Forge.Bench.Trainer;

/// <summary>nanoGPT's shakespeare_char preparation: the vocabulary is the sorted distinct characters, split 90/10 by position.</summary>
public sealed class CharacterCorpus
{
    public const string TokenizerId = "chars-tinyshakespeare";

    public CharacterCorpus(string text)
    {
        var characters = text.Distinct().Order().ToArray();
        var index = characters.Select((c, i) => (c, i)).ToDictionary(p => p.c, p => p.i);
        var tokens = text.Select(c => index[c]).ToArray();
        var split = (int)(tokens.Length * 0.9);
        VocabularySize = characters.Length;
        Train = tokens[..split];
        Validation = tokens[split..];
    }

    public int VocabularySize { get; }
    public int[] Train { get; }
    public int[] Validation { get; }

    /// <summary>Writes train.bin and val.bin token shards into <paramref name="folder"/>; returns their paths.</summary>
    public (string Train, string Validation) WriteShards(string folder)
    {
        Directory.CreateDirectory(folder);
        return (Write(Path.Combine(folder, "train.bin"), Train), Write(Path.Combine(folder, "val.bin"), Validation));
    }

    private string Write(string path, int[] tokens)
    {
        using var file = File.Create(path);
        using var writer = new TokenShardWriter(file, VocabularySize, separatorId: 0, TokenizerId);
        writer.AppendDocument(tokens);
        writer.Complete();
        return path;
    }
}
