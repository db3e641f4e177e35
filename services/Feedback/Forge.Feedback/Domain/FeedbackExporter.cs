using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Forge.Feedback.Domain;

/// <summary>A supervised fine-tuning example; for chat generations, Messages is the whole conversation ending with this answer.</summary>
public sealed record SftExample(string Prompt, string Completion, IReadOnlyList<StoredTurn>? Messages);

/// <summary>A preference pair (DPO style): for the prompt (and, for chat, the conversation in Messages), the chosen answer was preferred to the rejected one.</summary>
public sealed record PreferencePair(string Prompt, string Chosen, string Rejected, IReadOnlyList<StoredTurn>? Messages);

/// <summary>An unpaired example (KTO style): the answer to the prompt (and, for chat, the conversation in Messages), labelled desirable (true) or not (false).</summary>
public sealed record UnpairedExample(string Prompt, string Completion, bool Label, IReadOnlyList<StoredTurn>? Messages);

/// <summary>
/// Turns a model's feedback into training data, one JSON object per line. Lines follow the generations in the order
/// they first got feedback, and a generation's feedback in the order it arrived, so the same feedback always gives
/// the same file. Chat generations also carry <c>messages</c>: in an SFT line, the conversation followed by the answer as
/// the assistant's turn (so a trainer may read either form); in the other exports, the conversation the answers reply
/// to. Completions have no <c>messages</c>.
/// <list type="bullet">
/// <item>SFT (<c>{prompt, completion}</c>): every distinct correction of a generation, with its prompt; and the output of
/// every generation that was called good (thumbs up, or a rating at or above <see cref="FeedbackOptions.HighRating"/>),
/// never called bad (thumbs down, or a rating at or below <see cref="FeedbackOptions.LowRating"/>) and never corrected.</item>
/// <item>Preferences (<c>{prompt, chosen, rejected}</c>): every preference, the preferred generation's output chosen over
/// the other's; and every correction, chosen over the output it corrects. A pair whose two answers are equal is left out.</item>
/// <item>Unpaired (<c>{prompt, completion, label}</c>): the output once per thumbs (label: up) and once per rating outside
/// the neutral band (label: at or above HighRating); ratings between LowRating and HighRating say nothing and are left out.</item>
/// </list>
/// </summary>
public sealed class FeedbackExporter(FeedbackStore store, FeedbackOptions options)
{
    /// <summary>Generations are read this many at a time, so an export never holds all of a model's generations.</summary>
    private const int GenerationsPerRead = 256;

    // A data file, never embedded in HTML: keep non-ASCII text as it is rather than escaping it.
    private static readonly JsonSerializerOptions LineJson = new(JsonSerializerDefaults.Web)
    {
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    private static readonly byte[] NewLine = "\n"u8.ToArray();

    /// <summary>Writes the model's SFT examples as JSONL and returns how many lines it wrote.</summary>
    public Task<int> WriteSftAsync(string model, Stream output, CancellationToken cancellationToken) =>
        WriteAsync(model, output, SftExamples, cancellationToken);

    /// <summary>Writes the model's preference pairs as JSONL and returns how many lines it wrote.</summary>
    public Task<int> WritePreferencesAsync(string model, Stream output, CancellationToken cancellationToken) =>
        WriteAsync(model, output, PreferencePairs, cancellationToken);

    /// <summary>Writes the model's labelled answers as JSONL and returns how many lines it wrote.</summary>
    public Task<int> WriteUnpairedAsync(string model, Stream output, CancellationToken cancellationToken) =>
        WriteAsync(model, output, UnpairedExamples, cancellationToken);

    private IEnumerable<SftExample> SftExamples(StoredGeneration generation, IReadOnlyList<FeedbackItem> feedback, IReadOnlyDictionary<string, StoredGeneration> _)
    {
        var corrections = Corrections(feedback).ToList();
        foreach (var correction in corrections)
            yield return Sft(generation, correction);
        var labels = feedback.Select(options.Label).ToList();
        if (corrections.Count == 0 && labels.Contains(true) && !labels.Contains(false))
            yield return Sft(generation, generation.Output);
    }

    private static IEnumerable<PreferencePair> PreferencePairs(StoredGeneration generation, IReadOnlyList<FeedbackItem> feedback, IReadOnlyDictionary<string, StoredGeneration> generations)
    {
        foreach (var item in feedback)
        {
            if (item.Kind != FeedbackKinds.Preference || !generations.TryGetValue(item.OtherGenerationId!, out var other))
                continue;
            var (chosen, rejected) = item.Preferred == PreferredAnswer.This ? (generation, other) : (other, generation);
            if (chosen.Output != rejected.Output)
                yield return new PreferencePair(generation.Prompt, chosen.Output, rejected.Output, Conversation(generation));
        }
        foreach (var correction in Corrections(feedback))
        {
            if (correction != generation.Output)
                yield return new PreferencePair(generation.Prompt, correction, generation.Output, Conversation(generation));
        }
    }

    private IEnumerable<UnpairedExample> UnpairedExamples(StoredGeneration generation, IReadOnlyList<FeedbackItem> feedback, IReadOnlyDictionary<string, StoredGeneration> _)
    {
        foreach (var item in feedback)
        {
            if (options.Label(item) is { } label)
                yield return new UnpairedExample(generation.Prompt, generation.Output, label, Conversation(generation));
        }
    }

    private static IEnumerable<string> Corrections(IReadOnlyList<FeedbackItem> feedback) =>
        feedback.Where(i => i.Kind == FeedbackKinds.Correction).Select(i => i.Correction!).Distinct(StringComparer.Ordinal);

    private static SftExample Sft(StoredGeneration generation, string answer) =>
        new(generation.Prompt, answer, Conversation(generation) is { } conversation ? [.. conversation, new StoredTurn { Role = "assistant", Content = answer }] : null);

    private static List<StoredTurn>? Conversation(StoredGeneration generation) => generation.Kind == StoredGeneration.ChatKind ? generation.Messages : null;

    /// <summary>
    /// Reads the model's feedback, then its generations a slice at a time (with the other side of each preference),
    /// writing each generation's lines as it goes and flushing after every slice, so a long export streams.
    /// </summary>
    private async Task<int> WriteAsync<TLine>(
        string model,
        Stream output,
        Func<StoredGeneration, IReadOnlyList<FeedbackItem>, IReadOnlyDictionary<string, StoredGeneration>, IEnumerable<TLine>> linesOf,
        CancellationToken cancellationToken)
    {
        var feedback = (await store.Items.FindAsync(i => i.Model == model, cancellationToken: cancellationToken))
            .OrderBy(i => i.CreatedAt).ThenBy(i => i.Id, StringComparer.Ordinal)
            .GroupBy(i => i.GenerationId, StringComparer.Ordinal)
            .ToList();
        var lines = 0;
        foreach (var slice in feedback.Chunk(GenerationsPerRead))
        {
            var ids = slice.Select(g => g.Key)
                .Concat(slice.SelectMany(g => g).Select(i => i.OtherGenerationId).OfType<string>())
                .ToHashSet(StringComparer.Ordinal);
            var generations = (await store.Generations.GetManyAsync(ids, cancellationToken)).ToDictionary(g => g.Id, StringComparer.Ordinal);
            foreach (var items in slice)
            {
                if (!generations.TryGetValue(items.Key, out var generation))
                    continue;
                foreach (var line in linesOf(generation, items.ToList(), generations))
                {
                    await output.WriteAsync(JsonSerializer.SerializeToUtf8Bytes(line, LineJson), cancellationToken);
                    await output.WriteAsync(NewLine, cancellationToken);
                    lines++;
                }
            }
            await output.FlushAsync(cancellationToken);
        }
        return lines;
    }
}
