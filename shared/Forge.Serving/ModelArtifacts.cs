using Forge.Model;
using Forge.Storage.Artifacts;
using Forge.Tokenization;

namespace Forge.Serving;

/// <summary>Loads what a model version is made of from the artifact store: its checkpoint's network and its tokenizer.</summary>
public static class ModelArtifacts
{
    public static readonly string WorkFolder = Path.Combine(Path.GetTempPath(), "forge-models");

    /// <summary>The network of a complete checkpoint (its manifest key), on <paramref name="device"/> (auto, cpu, cuda, cuda:N; the CPU when null).</summary>
    public static async Task<LanguageModel> LoadModelAsync(IArtifactStore artifacts, string manifestKey, string workFolder, CancellationToken cancellationToken, string? device = null)
    {
        var folder = await artifacts.StageFolderAsync(manifestKey[..manifestKey.LastIndexOf('/')], workFolder, cancellationToken);
        try
        {
            return Checkpoint.LoadModel(Checkpoint.OpenFolder(folder), device is null ? null : TorchRuntime.SelectDevice(device));
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    /// <summary>The tokenizer the tokenizer service stored under tokenizers/{id}/ (BPE or characters), or null.</summary>
    public static async Task<ITokenizer?> LoadTokenizerAsync(IArtifactStore artifacts, string tokenizerId, CancellationToken cancellationToken)
    {
        if (await artifacts.StatAsync($"tokenizers/{tokenizerId}/tokenizer.json", cancellationToken) is not null)
        {
            await using var json = await artifacts.OpenReadAsync($"tokenizers/{tokenizerId}/tokenizer.json", cancellationToken);
            return TokenizerFiles.ReadHuggingFace(json);
        }
        if (await artifacts.StatAsync($"tokenizers/{tokenizerId}/char-tokenizer.json", cancellationToken) is not null)
        {
            await using var json = await artifacts.OpenReadAsync($"tokenizers/{tokenizerId}/char-tokenizer.json", cancellationToken);
            return CharTokenizer.Read(json);
        }
        return null;
    }
}
