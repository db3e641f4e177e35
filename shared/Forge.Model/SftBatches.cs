using System.Security.Cryptography;

namespace Forge.Model;

/// <summary>One supervised example: the prompt the model reads and the completion it learns to write, as token ids.</summary>
public sealed record SftExample(int[] Prompt, int[] Completion);

/// <summary>
/// What a fine-tune trains on: supervised examples of tokenizer <paramref name="TokenizerId"/>, the token that ends
/// every completion (<paramref name="EndToken"/>, when the tokenizer has one, so the model learns to stop), and the
/// share of rows that are plain windows of the replay shards instead (<paramref name="ReplayFraction"/>), so the model
/// keeps what it knew.
/// </summary>
public sealed record FineTuneData(IReadOnlyList<SftExample> Examples, int? EndToken, string TokenizerId, double ReplayFraction = 0)
{
    /// <summary>Every problem with this data, in words; empty when it is usable.</summary>
    public IReadOnlyList<string> Problems()
    {
        var problems = new List<string>();
        if (Examples is null || Examples.Count == 0)
            problems.Add("A fine-tune needs at least one example.");
        else if (Examples.Any(e => e?.Prompt is null || e.Completion is null))
            problems.Add("Every example needs a prompt and a completion (either may be empty, not null).");
        else if (Examples.All(e => e.Completion.Length == 0))
            problems.Add("Every example's completion is empty: there is nothing to learn.");
        else if (Examples.SelectMany(e => e.Prompt.Concat(e.Completion)).Any(token => token < 0))
            problems.Add("Token ids must not be negative.");
        if (EndToken < 0)
            problems.Add($"EndToken must not be negative (got {EndToken}).");
        if (string.IsNullOrEmpty(TokenizerId))
            problems.Add("TokenizerId must name the tokenizer of the examples.");
        if (ReplayFraction is < 0 or >= 1 || double.IsNaN(ReplayFraction))
            problems.Add($"ReplayFraction must be in [0, 1) (got {ReplayFraction}): at least some rows must be examples.");
        return problems;
    }

    /// <summary>Throws one <see cref="ArgumentException"/> that lists every problem.</summary>
    public void Validate()
    {
        var problems = Problems();
        if (problems.Count > 0)
            throw new ArgumentException("The fine-tuning data is not valid: " + string.Join(" ", problems));
    }

    /// <summary>The largest token id the examples use (the end token included); -1 when they hold none.</summary>
    public int LargestToken() =>
        Math.Max(EndToken ?? -1, Examples.SelectMany(e => e.Prompt.Concat(e.Completion)).DefaultIfEmpty(-1).Max());

    /// <summary>SHA-256 of the examples and the end token, so a checkpoint can tell whether it is resumed on the same data.</summary>
    public string Sha256()
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        void Append(ReadOnlySpan<int> values)
        {
            Span<byte> length = stackalloc byte[sizeof(int)];
            BitConverter.TryWriteBytes(length, values.Length);
            hash.AppendData(length);
            hash.AppendData(System.Runtime.InteropServices.MemoryMarshal.AsBytes(values));
        }
        Append([EndToken ?? -1]);
        foreach (var example in Examples)
        {
            Append(example.Prompt);
            Append(example.Completion);
        }
        return Convert.ToHexStringLower(hash.GetCurrentHash());
    }
}

/// <summary>
/// Rows for supervised fine-tuning, one example per row: its prompt, its completion, then the end token (when there is
/// one); the inputs are the first ContextLength tokens and the targets the same tokens shifted by one, as for
/// pretraining, but every target that is not a completion token or the end token is <see cref="LanguageModel.IgnoredTarget"/>,
/// so the loss counts only what the model should write. A row longer than ContextLength + 1 tokens loses the start of
/// its prompt first (one prompt token always stays, so the first completion token is still predicted), then the end
/// of its completion; a shorter one is padded on the right, and padding is ignored too. With a ReplayFraction, each
/// row is, with that probability, a plain window of the replay shards instead (every target counts). Examples are
/// drawn uniformly with replacement from the same generator as the replay windows and the replay coin, so the
/// generator is the only state and a checkpoint that stores it resumes exactly.
/// </summary>
public sealed class SftBatchSampler : IBatchSource
{
    private readonly FineTuneData data;
    private readonly int contextLength;
    private readonly BatchSampler? replay;

    public SftBatchSampler(FineTuneData data, int contextLength, BatchRandom random, TokenDataset? replay = null)
    {
        ArgumentNullException.ThrowIfNull(data);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(contextLength);
        data.Validate();
        if (data.ReplayFraction > 0 && replay is null)
            throw new ArgumentException($"A replay fraction of {data.ReplayFraction} needs replay shards.", nameof(replay));
        this.data = data;
        this.contextLength = contextLength;
        Random = random;
        this.replay = data.ReplayFraction > 0 ? new BatchSampler(replay!, contextLength, random) : null;
    }

    public BatchRandom Random { get; }

    /// <summary>Fills <paramref name="inputs"/> and <paramref name="targets"/>, each batchSize × ContextLength, row by row.</summary>
    public void Fill(Span<long> inputs, Span<long> targets)
    {
        if (inputs.Length != targets.Length || inputs.Length % contextLength != 0)
            throw new ArgumentException($"Inputs and targets must both hold whole rows of {contextLength} tokens.");
        for (var row = 0; row < inputs.Length / contextLength; row++)
        {
            var rowInputs = inputs.Slice(row * contextLength, contextLength);
            var rowTargets = targets.Slice(row * contextLength, contextLength);
            if (replay is not null && Random.NextDouble() < data.ReplayFraction)
                replay.Fill(rowInputs, rowTargets);
            else
                Write(data.Examples[(int)Random.NextBelow(data.Examples.Count)], data.EndToken, rowInputs, rowTargets);
        }
    }

    /// <summary>Writes one example's row: <paramref name="inputs"/> and <paramref name="targets"/> are ContextLength long.</summary>
    internal static void Write(SftExample example, int? endToken, Span<long> inputs, Span<long> targets)
    {
        var length = inputs.Length + 1; // the most tokens a row holds: inputs plus the last target
        var completion = example.Completion.Length + (endToken is null ? 0 : 1);
        var prompt = Math.Min(example.Prompt.Length, Math.Max(1, length - completion));
        var kept = prompt + Math.Min(completion, length - prompt);
        long Token(int position) =>
            position < prompt ? example.Prompt[example.Prompt.Length - prompt + position]
            : position - prompt < example.Completion.Length ? example.Completion[position - prompt]
            : endToken!.Value;

        var padding = endToken ?? 0; // any valid id: attention is causal, so what follows a row's end changes nothing before it
        for (var t = 0; t < inputs.Length; t++)
        {
            inputs[t] = t < kept ? Token(t) : padding;
            targets[t] = t + 1 < kept && t + 1 >= prompt ? Token(t + 1) : LanguageModel.IgnoredTarget;
        }
    }
}
