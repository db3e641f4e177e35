namespace Forge.Inference.Domain;

/// <summary>The configuration section "Inference": what one request may ask for and how many models stay loaded.</summary>
public sealed record InferenceOptions
{
    public const string Section = "Inference";

    /// <summary>Model versions kept loaded (least recently used ones are unloaded first).</summary>
    public int CachedModels { get; init; } = 2;

    /// <summary>The most new tokens one request may ask for.</summary>
    public int MaxTokens { get; init; } = 1024;

    /// <summary>New tokens when the request does not say (Forge's own API; the OpenAI API keeps OpenAI's defaults).</summary>
    public int DefaultMaxTokens { get; init; } = 128;

    /// <summary>The longest prompt (or conversation) in characters, checked before tokenizing.</summary>
    public int MaxPromptCharacters { get; init; } = 32_000;

    /// <summary>The most stop sequences per request, as OpenAI allows.</summary>
    public int MaxStopSequences { get; init; } = 4;

    /// <summary>Generations one API key may run at once; more get 429.</summary>
    public int MaxConcurrentPerKey { get; init; } = 4;

    /// <summary>"auto", "cpu", "cuda" or "cuda:N".</summary>
    public string Device { get; init; } = "cpu";

    /// <summary>Where checkpoints are staged while a model loads.</summary>
    public string WorkFolder { get; init; } = Path.Combine(Path.GetTempPath(), "forge-inference");
}
