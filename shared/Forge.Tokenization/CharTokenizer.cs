using System.Text;
using System.Text.Json;

namespace Forge.Tokenization;

/// <summary>
/// One token per character, as nanoGPT's shakespeare_char: the vocabulary is the corpus's distinct Unicode scalar
/// values sorted by code point, so an emoji is one token. Text with a character outside the vocabulary is refused.
/// A lone surrogate is not a character: it is refused too.
/// </summary>
public sealed class CharTokenizer : ITokenizer
{
    private readonly Rune[] _characters;
    private readonly Dictionary<Rune, int> _ids;

    public CharTokenizer(IEnumerable<Rune> characters)
    {
        _characters = [.. characters.Distinct().Order()];
        if (_characters.Length == 0)
            throw new ArgumentException("A character vocabulary needs at least one character.", nameof(characters));
        _ids = _characters.Select((c, id) => (c, id)).ToDictionary(p => p.c, p => p.id);
    }

    /// <summary>The vocabulary of <paramref name="corpus"/>, read in a single pass over any number of documents.</summary>
    public static CharTokenizer Train(IEnumerable<string> corpus)
    {
        var seen = new HashSet<Rune>();
        foreach (var document in corpus)
        {
            foreach (var rune in document.EnumerateRunes())
                seen.Add(rune);
        }
        return new CharTokenizer(seen);
    }

    public int VocabularySize => _characters.Length;

    public IReadOnlyList<Rune> Characters => _characters;

    public void Encode(ReadOnlySpan<char> text, List<int> ids)
    {
        for (var i = 0; i < text.Length;)
        {
            if (Rune.DecodeFromUtf16(text[i..], out var rune, out var consumed) != System.Buffers.OperationStatus.Done)
                throw new ArgumentException($"Position {i} holds a lone surrogate (U+{(int)text[i]:X4}), which is not a character.", nameof(text));
            if (!_ids.TryGetValue(rune, out var id))
                throw new ArgumentException($"Character '{rune}' (U+{rune.Value:X4}) at position {i} is not in the vocabulary.", nameof(text));
            ids.Add(id);
            i += consumed;
        }
    }

    public string Decode(ReadOnlySpan<int> ids)
    {
        var text = new StringBuilder(ids.Length);
        foreach (var id in ids)
        {
            if ((uint)id >= (uint)_characters.Length)
                throw new ArgumentOutOfRangeException(nameof(ids), $"Token {id} is outside the vocabulary of {_characters.Length}.");
            text.Append(_characters[id].ToString());
        }
        return text.ToString();
    }

    /// <summary>The vocabulary as JSON: <c>{"type": "char", "characters": ["\n", " ", "!", …]}</c>.</summary>
    public void Write(Stream output)
    {
        using var json = new Utf8JsonWriter(output, new JsonWriterOptions { Indented = false });
        json.WriteStartObject();
        json.WriteString("type", "char");
        json.WriteStartArray("characters");
        foreach (var character in _characters)
            json.WriteStringValue(character.ToString());
        json.WriteEndArray();
        json.WriteEndObject();
    }

    public static CharTokenizer Read(Stream input, string name = "char-tokenizer.json")
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(input);
        }
        catch (JsonException e)
        {
            throw new TokenizerFormatException(name, $"line {e.LineNumber + 1}", "not valid JSON.");
        }
        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("type", out var type) || type.ValueKind != JsonValueKind.String || type.GetString() != "char")
                throw new TokenizerFormatException(name, "type", "not a character tokenizer (type must be \"char\").");
            if (!root.TryGetProperty("characters", out var characters) || characters.ValueKind != JsonValueKind.Array)
                throw new TokenizerFormatException(name, "characters", "expected an array of characters.");
            var runes = new List<Rune>();
            var index = 0;
            foreach (var character in characters.EnumerateArray())
            {
                var text = character.ValueKind == JsonValueKind.String ? character.GetString()! : "";
                if (Rune.DecodeFromUtf16(text, out var rune, out var consumed) != System.Buffers.OperationStatus.Done || consumed != text.Length)
                    throw new TokenizerFormatException(name, $"characters[{index}]", $"expected one character, found {character.GetRawText()}.");
                if (runes.Count > 0 && rune.Value <= runes[^1].Value)
                    throw new TokenizerFormatException(name, $"characters[{index}]", "characters must be distinct and sorted by code point.");
                runes.Add(rune);
                index++;
            }
            return new CharTokenizer(runes);
        }
    }
}
