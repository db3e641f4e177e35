using System.Text;
using System.Text.Json;

namespace Forge.EndToEnd.Tests;

/// <summary>
/// Deterministic English-like documents that pass the default quality filters, with planted exact duplicates,
/// near duplicates (one word changed) and malformed lines at known places.
/// </summary>
public sealed class CorpusGenerator(int seed)
{
    private static readonly string[] StopWords = ["the", "of", "and", "to", "with", "that", "have", "be", "in", "for"];
    private readonly Random _random = new(seed);
    private readonly string[] _vocabulary = BuildVocabulary(new Random(seed + 1));

    public string Document(int words)
    {
        var text = new StringBuilder();
        for (var i = 0; i < words; i++)
        {
            if (i > 0)
                text.Append(' ');
            text.Append(i % 3 == 1 ? StopWords[_random.Next(StopWords.Length)] : _vocabulary[_random.Next(_vocabulary.Length)]);
            if (i % 12 == 11)
                text.Append('.');
        }
        return text.Append('.').ToString();
    }

    /// <summary>The same document with one word (not the first or last few) replaced.</summary>
    public string NearCopy(string document)
    {
        var words = document.Split(' ');
        var position = _random.Next(words.Length / 3, 2 * words.Length / 3);
        words[position] = "zyxwvut" + _random.Next(1000);
        return string.Join(' ', words);
    }

    /// <summary>
    /// A folder "corpus" under <paramref name="parent"/> holding a fortune-style file (<paramref name="documents"/>
    /// quotes with '%' between them) and a plain text file, as recipes' tests read it; returns the folder.
    /// </summary>
    public static string WriteFortuneFolder(string parent, int documents)
    {
        var corpus = Path.Combine(parent, "corpus");
        Directory.CreateDirectory(corpus);
        var generator = new CorpusGenerator(9);
        File.WriteAllText(Path.Combine(corpus, "quotes"), string.Join("\n%\n", Enumerable.Range(0, documents).Select(_ => generator.Document(40))) + "\n%\n");
        File.WriteAllText(Path.Combine(corpus, "notes.txt"), generator.Document(60));
        return corpus;
    }

    public static string Line(string text, string? id = null) =>
        (id is null ? JsonSerializer.Serialize(new { text }) : JsonSerializer.Serialize(new { text, id })) + "\n";

    private static string[] BuildVocabulary(Random random) =>
        Enumerable.Range(0, 4000).Select(_ => new string(Enumerable.Range(0, random.Next(4, 9)).Select(_ => (char)('a' + random.Next(26))).ToArray())).ToArray();
}
