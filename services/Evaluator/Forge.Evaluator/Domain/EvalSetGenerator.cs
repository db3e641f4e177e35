using Forge.Model;
using Forge.Serving;
using Forge.Storage.Artifacts;
using Forge.Tokenization;

namespace Forge.Evaluator.Domain;

/// <summary>
/// Answers an eval set's prompts with a model version, one output per example in order. An answer ends at the
/// tokenizer's end-of-text token, which is left out, as the inference service ends what it serves: a fine-tuned model
/// writes that token after its answer (fine-tuning taught it to), and what it would write after it is no part of the
/// answer, so scoring it would only measure text nobody is shown.
/// </summary>
public sealed class EvalSetGenerator(EvalSetLibrary library, IArtifactStore artifacts)
{
    /// <summary>The most tokens one answer may have.</summary>
    public const int MaxNewTokensLimit = 1024;

    /// <returns>The outputs, or null when the version's tokenizer is not in the artifact store.</returns>
    /// <exception cref="ArtifactNotFoundException">The version's checkpoint is not (wholly) in the artifact store.</exception>
    public async Task<IReadOnlyList<string>?> GenerateAsync(EvalSetRecord evalSet, KnownModelVersion version, GenerationOptions options, CancellationToken cancellationToken)
    {
        if (await ModelArtifacts.LoadTokenizerAsync(artifacts, version.TokenizerId, cancellationToken) is not { } tokenizer)
            return null;
        if (SftJsonl.EndToken(tokenizer) is { } end)
            options = options with { StopTokens = [end] };
        var examples = await library.ReadExamplesAsync(evalSet, cancellationToken);
        using var model = await ModelArtifacts.LoadModelAsync(artifacts, version.CheckpointKey, ModelArtifacts.WorkFolder, cancellationToken);
        var outputs = new List<string>(examples.Count);
        foreach (var example in examples)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var prompt = tokenizer.Encode(example.Prompt);
            var generated = prompt.Length == 0 ? [] : TokenGenerator.Generate(model, prompt, options);
            if (generated is [.., var last] && options.StopTokens.Contains(last))
                generated = generated[..^1];
            outputs.Add(tokenizer.Decode(generated));
        }
        return outputs;
    }
}
