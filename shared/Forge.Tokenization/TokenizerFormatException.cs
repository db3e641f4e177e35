namespace Forge.Tokenization;

/// <summary>
/// A tokenizer file is corrupt or inconsistent. <see cref="File"/> and <see cref="Location"/> (a JSON path such as
/// <c>model.merges[12]</c> or a line such as <c>line 7</c>) say where, so that a service can answer 4xx with them.
/// </summary>
public sealed class TokenizerFormatException(string file, string location, string problem)
    : Exception($"{file}: {location}: {problem}")
{
    public string File { get; } = file;

    public string Location { get; } = location;

    public string Problem { get; } = problem;
}
