using System.Text.Encodings.Web;
using System.Text.Json;

namespace Forge.Tokenization;

/// <summary>
/// Reads and writes a <see cref="BpeTokenizer"/> as Hugging Face's <c>tokenizer.json</c> and as GPT-2's
/// <c>vocab.json</c> + <c>merges.txt</c>. Reading checks every field it relies on and throws
/// <see cref="TokenizerFormatException"/> naming the file and the field or line at fault.
/// <para>
/// Supported <c>tokenizer.json</c>: model BPE (merges as "a b" strings or as [a, b] pairs, <c>ignore_merges</c>,
/// <c>unk_token</c>/<c>fuse_unk</c>), no normalizer, pre-tokenizer ByteLevel (add_prefix_space false, use_regex
/// true) or a Sequence of Split (the GPT-2 or cl100k pattern, Isolated) then ByteLevel (use_regex false), added tokens
/// without lstrip/rstrip/single_word. The decoder and post-processor are not read: decoding is byte-level whatever they say.
/// </para>
/// </summary>
public static class TokenizerFiles
{
    private static readonly JsonWriterOptions WriterOptions = new() { Indented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };
    private static readonly JsonDocumentOptions ReaderOptions = new() { MaxDepth = 64 };

    public static void WriteHuggingFace(BpeTokenizer tokenizer, string path)
    {
        using var file = File.Create(path);
        WriteHuggingFace(tokenizer, file);
    }

    public static void WriteHuggingFace(BpeTokenizer tokenizer, Stream output)
    {
        using var json = new Utf8JsonWriter(output, WriterOptions);
        json.WriteStartObject();
        json.WriteString("version", "1.0");
        json.WriteNull("truncation");
        json.WriteNull("padding");
        json.WriteStartArray("added_tokens");
        foreach (var token in tokenizer.AddedTokens)
        {
            json.WriteStartObject();
            json.WriteNumber("id", token.Id);
            json.WriteString("content", token.Content);
            json.WriteBoolean("single_word", false);
            json.WriteBoolean("lstrip", false);
            json.WriteBoolean("rstrip", false);
            json.WriteBoolean("normalized", false);
            json.WriteBoolean("special", token.IsSpecial);
            json.WriteEndObject();
        }
        json.WriteEndArray();
        json.WriteNull("normalizer");
        json.WritePropertyName("pre_tokenizer");
        if (tokenizer.PreTokenizer.Pattern == PreTokenizerPattern.Gpt2)
        {
            WriteByteLevel(json, useRegex: true);
        }
        else
        {
            json.WriteStartObject();
            json.WriteString("type", "Sequence");
            json.WriteStartArray("pretokenizers");
            json.WriteStartObject();
            json.WriteString("type", "Split");
            json.WriteStartObject("pattern");
            json.WriteString("Regex", tokenizer.PreTokenizer.Regex);
            json.WriteEndObject();
            json.WriteString("behavior", "Isolated");
            json.WriteBoolean("invert", false);
            json.WriteEndObject();
            WriteByteLevel(json, useRegex: false);
            json.WriteEndArray();
            json.WriteEndObject();
        }
        json.WriteNull("post_processor");
        json.WritePropertyName("decoder");
        WriteByteLevel(json, useRegex: true);
        json.WriteStartObject("model");
        json.WriteString("type", "BPE");
        json.WriteNull("dropout");
        if (tokenizer.UnknownId is { } unknown)
            json.WriteString("unk_token", tokenizer.Tokens[unknown]);
        else
            json.WriteNull("unk_token");
        json.WriteNull("continuing_subword_prefix");
        json.WriteNull("end_of_word_suffix");
        json.WriteBoolean("fuse_unk", tokenizer.FuseUnknown);
        json.WriteBoolean("byte_fallback", false);
        json.WriteBoolean("ignore_merges", tokenizer.IgnoreMerges);
        json.WriteStartObject("vocab");
        for (var id = 0; id < tokenizer.VocabularySize; id++)
            json.WriteNumber(tokenizer.Tokens[id], id);
        json.WriteEndObject();
        json.WriteStartArray("merges");
        foreach (var (left, right) in tokenizer.Merges)
        {
            json.WriteStartArray();
            json.WriteStringValue(left);
            json.WriteStringValue(right);
            json.WriteEndArray();
        }
        json.WriteEndArray();
        json.WriteEndObject();
        json.WriteEndObject();

        static void WriteByteLevel(Utf8JsonWriter json, bool useRegex)
        {
            json.WriteStartObject();
            json.WriteString("type", "ByteLevel");
            json.WriteBoolean("add_prefix_space", false);
            json.WriteBoolean("trim_offsets", true);
            json.WriteBoolean("use_regex", useRegex);
            json.WriteEndObject();
        }
    }

    /// <summary>Writes <c>vocab.json</c> (every token, added ones included) and <c>merges.txt</c> (with GPT-2's "#version: 0.2" line).</summary>
    public static void WriteGpt2(BpeTokenizer tokenizer, string vocabPath, string mergesPath)
    {
        using (var file = File.Create(vocabPath))
        using (var json = new Utf8JsonWriter(file, WriterOptions with { Indented = false }))
        {
            json.WriteStartObject();
            for (var id = 0; id < tokenizer.VocabularySize; id++)
                json.WriteNumber(tokenizer.Tokens[id], id);
            json.WriteEndObject();
        }
        using var merges = new StreamWriter(mergesPath, append: false, ByteLevel.Utf8) { NewLine = "\n" };
        merges.WriteLine("#version: 0.2");
        foreach (var (left, right) in tokenizer.Merges)
            merges.WriteLine($"{left} {right}");
    }

    public static BpeTokenizer ReadHuggingFace(string path)
    {
        using var file = OpenForReading(path);
        return ReadHuggingFace(file, Path.GetFileName(path));
    }

    /// <param name="name">The file's name in error messages.</param>
    public static BpeTokenizer ReadHuggingFace(Stream input, string name = "tokenizer.json")
    {
        using var document = Parse(input, name);
        var root = Expect(document.RootElement, JsonValueKind.Object, name, "$");

        if (root.TryGetProperty("normalizer", out var normalizer) && normalizer.ValueKind != JsonValueKind.Null)
            throw new TokenizerFormatException(name, "normalizer", $"normalizer '{TypeOf(normalizer)}' is not supported; only null is.");
        var pattern = ReadPreTokenizer(root, name);

        var model = Expect(Property(root, "model", name, "$"), JsonValueKind.Object, name, "model");
        var type = model.TryGetProperty("type", out var typeElement) ? typeElement.GetString() : "BPE";
        if (type != "BPE")
            throw new TokenizerFormatException(name, "model.type", $"model type '{type}' is not supported; only BPE is.");
        if (Flag(model, "byte_fallback", name, "model"))
            throw new TokenizerFormatException(name, "model.byte_fallback", "byte_fallback is not supported (the vocabulary is byte-level already).");
        foreach (var affix in (string[])["continuing_subword_prefix", "end_of_word_suffix"])
        {
            if (model.TryGetProperty(affix, out var value) && value.ValueKind == JsonValueKind.String && value.GetString()!.Length > 0)
                throw new TokenizerFormatException(name, $"model.{affix}", $"{affix} is not supported by a byte-level BPE.");
        }
        if (model.TryGetProperty("dropout", out var dropout) && dropout.ValueKind == JsonValueKind.Number && dropout.GetDouble() != 0)
            throw new TokenizerFormatException(name, "model.dropout", "BPE dropout is not supported (encoding is deterministic).");

        var vocabulary = new SortedDictionary<int, string>();
        var vocab = Expect(Property(model, "vocab", name, "model"), JsonValueKind.Object, name, "model.vocab");
        foreach (var entry in vocab.EnumerateObject())
        {
            var location = $"model.vocab[\"{entry.Name}\"]";
            if (entry.Value.ValueKind != JsonValueKind.Number || !entry.Value.TryGetInt32(out var id) || id < 0)
                throw new TokenizerFormatException(name, location, $"the id must be a non-negative integer, not {entry.Value.GetRawText()}.");
            AddToVocabulary(vocabulary, id, entry.Name, name, location);
        }

        var added = new List<AddedToken>();
        if (root.TryGetProperty("added_tokens", out var addedTokens) && addedTokens.ValueKind != JsonValueKind.Null)
        {
            var index = 0;
            foreach (var token in Expect(addedTokens, JsonValueKind.Array, name, "added_tokens").EnumerateArray())
            {
                var location = $"added_tokens[{index++}]";
                Expect(token, JsonValueKind.Object, name, location);
                var idElement = Property(token, "id", name, location);
                if (idElement.ValueKind != JsonValueKind.Number || !idElement.TryGetInt32(out var id) || id < 0)
                    throw new TokenizerFormatException(name, $"{location}.id", "the id must be a non-negative integer.");
                var content = Expect(Property(token, "content", name, location), JsonValueKind.String, name, $"{location}.content").GetString()!;
                if (content.Length == 0)
                    throw new TokenizerFormatException(name, $"{location}.content", "an added token cannot be empty.");
                foreach (var unsupported in (string[])["lstrip", "rstrip", "single_word"])
                {
                    if (Flag(token, unsupported, name, location))
                        throw new TokenizerFormatException(name, $"{location}.{unsupported}", $"{unsupported} is not supported.");
                }
                if (vocabulary.TryGetValue(id, out var existing) && existing != content)
                    throw new TokenizerFormatException(name, location, $"id {id} is '{existing}' in model.vocab but '{content}' here.");
                if (!vocabulary.ContainsKey(id))
                    AddToVocabulary(vocabulary, id, content, name, location);
                added.Add(new AddedToken(id, content, Flag(token, "special", name, location)));
            }
        }

        var tokens = DenseTokens(vocabulary, name, "model.vocab");
        var idOfToken = IdsOf(tokens, name, "model.vocab");
        var merges = new List<(int, int)>();
        var mergeIndex = 0;
        foreach (var merge in Expect(Property(model, "merges", name, "model"), JsonValueKind.Array, name, "model.merges").EnumerateArray())
        {
            var location = $"model.merges[{mergeIndex++}]";
            var (left, right) = merge.ValueKind switch
            {
                JsonValueKind.String => SplitMergeLine(merge.GetString()!, name, location),
                JsonValueKind.Array when merge.GetArrayLength() == 2 && merge[0].ValueKind == JsonValueKind.String && merge[1].ValueKind == JsonValueKind.String
                    => (merge[0].GetString()!, merge[1].GetString()!),
                _ => throw new TokenizerFormatException(name, location, $"a merge is \"left right\" or [\"left\", \"right\"], not {merge.GetRawText()}."),
            };
            merges.Add(MergeIds(idOfToken, left, right, name, location));
        }

        string? unknown = null;
        if (model.TryGetProperty("unk_token", out var unk) && unk.ValueKind == JsonValueKind.String)
        {
            unknown = unk.GetString()!;
            if (!idOfToken.ContainsKey(unknown))
                throw new TokenizerFormatException(name, "model.unk_token", $"the unknown token '{unknown}' is not in the vocabulary.");
        }
        return Build(tokens, merges, added, pattern, Flag(model, "ignore_merges", name, "model"), unknown, Flag(model, "fuse_unk", name, "model"), name);
    }

    /// <summary>
    /// Reads GPT-2's files. A token of <c>vocab.json</c> that is neither a byte nor made by a merge is an added
    /// special token (GPT-2's <c>&lt;|endoftext|&gt;</c>), matched before pre-tokenisation.
    /// </summary>
    public static BpeTokenizer ReadGpt2(string vocabPath, string mergesPath, PreTokenizerPattern pattern = PreTokenizerPattern.Gpt2)
    {
        var vocabName = Path.GetFileName(vocabPath);
        var mergesName = Path.GetFileName(mergesPath);
        var vocabulary = new SortedDictionary<int, string>();
        using (var file = OpenForReading(vocabPath))
        using (var document = Parse(file, vocabName))
        {
            foreach (var entry in Expect(document.RootElement, JsonValueKind.Object, vocabName, "$").EnumerateObject())
            {
                var location = $"[\"{entry.Name}\"]";
                if (entry.Value.ValueKind != JsonValueKind.Number || !entry.Value.TryGetInt32(out var id) || id < 0)
                    throw new TokenizerFormatException(vocabName, location, $"the id must be a non-negative integer, not {entry.Value.GetRawText()}.");
                AddToVocabulary(vocabulary, id, entry.Name, vocabName, location);
            }
        }
        var tokens = DenseTokens(vocabulary, vocabName, "$");
        var idOfToken = IdsOf(tokens, vocabName, "$");

        var merges = new List<(int Left, int Right)>();
        using (var reader = new StreamReader(OpenForReading(mergesPath), ByteLevel.Utf8))
        {
            var lineNumber = 0;
            while (reader.ReadLine() is { } line)
            {
                lineNumber++;
                if (line.Length == 0 || (lineNumber == 1 && line.StartsWith("#version", StringComparison.Ordinal)))
                    continue;
                var (left, right) = SplitMergeLine(line, mergesName, $"line {lineNumber}");
                merges.Add(MergeIds(idOfToken, left, right, mergesName, $"line {lineNumber}"));
            }
        }

        var made = new HashSet<string>(merges.Select(m => tokens[m.Left] + tokens[m.Right]), StringComparer.Ordinal);
        var added = new List<AddedToken>();
        for (var id = 0; id < tokens.Length; id++)
        {
            var token = tokens[id];
            var isByte = token.Length == 1 && ByteLevel.TryGetByte(token[0], out _);
            if (!isByte && !made.Contains(token))
                added.Add(new AddedToken(id, token));
        }
        return Build(tokens, merges, added, pattern, ignoreMerges: false, unknownToken: null, fuseUnknown: false, vocabName);
    }

    private static BpeTokenizer Build(string[] tokens, List<(int, int)> merges, List<AddedToken> added, PreTokenizerPattern pattern,
        bool ignoreMerges, string? unknownToken, bool fuseUnknown, string name)
    {
        var addedIds = added.Select(t => t.Id).ToHashSet();
        for (var id = 0; id < tokens.Length; id++)
        {
            if (!addedIds.Contains(id) && ByteLevel.TryGetBytes(tokens[id]) is null)
                throw new TokenizerFormatException(name, $"token {id}", $"'{tokens[id]}' is neither an added token nor a byte-level string.");
        }
        return new BpeTokenizer(tokens, merges, added, pattern, ignoreMerges, unknownToken, fuseUnknown);
    }

    private static PreTokenizerPattern ReadPreTokenizer(JsonElement root, string name)
    {
        if (!root.TryGetProperty("pre_tokenizer", out var pre) || pre.ValueKind == JsonValueKind.Null)
            throw new TokenizerFormatException(name, "pre_tokenizer", "a byte-level BPE needs the ByteLevel pre-tokenizer; there is none.");
        Expect(pre, JsonValueKind.Object, name, "pre_tokenizer");
        switch (TypeOf(pre))
        {
            case "ByteLevel":
                CheckByteLevel(pre, name, "pre_tokenizer", useRegex: true);
                return PreTokenizerPattern.Gpt2;
            case "Sequence":
                var steps = Expect(Property(pre, "pretokenizers", name, "pre_tokenizer"), JsonValueKind.Array, name, "pre_tokenizer.pretokenizers");
                if (steps.GetArrayLength() != 2 || TypeOf(steps[0]) != "Split" || TypeOf(steps[1]) != "ByteLevel")
                    throw new TokenizerFormatException(name, "pre_tokenizer.pretokenizers", "a Sequence pre-tokenizer must be Split (a regex) then ByteLevel.");
                var split = steps[0];
                var regex = split.TryGetProperty("pattern", out var patternElement) && patternElement.ValueKind == JsonValueKind.Object
                    && patternElement.TryGetProperty("Regex", out var r) && r.ValueKind == JsonValueKind.String ? r.GetString() : null;
                var behavior = split.TryGetProperty("behavior", out var b) ? b.GetString() : null;
                if (behavior != "Isolated" || Flag(split, "invert", name, "pre_tokenizer.pretokenizers[0]"))
                    throw new TokenizerFormatException(name, "pre_tokenizer.pretokenizers[0]", "the Split must be Isolated and not inverted.");
                CheckByteLevel(steps[1], name, "pre_tokenizer.pretokenizers[1]", useRegex: false);
                return regex switch
                {
                    PreTokenizer.Gpt2Regex => PreTokenizerPattern.Gpt2,
                    PreTokenizer.Cl100kRegex => PreTokenizerPattern.Cl100k,
                    _ => throw new TokenizerFormatException(name, "pre_tokenizer.pretokenizers[0].pattern",
                        $"the pattern {JsonSerializer.Serialize(regex)} is not supported; only GPT-2's and cl100k's are."),
                };
            default:
                throw new TokenizerFormatException(name, "pre_tokenizer.type", $"pre-tokenizer '{TypeOf(pre)}' is not supported; only ByteLevel is.");
        }
    }

    private static void CheckByteLevel(JsonElement byteLevel, string name, string location, bool useRegex)
    {
        if (Flag(byteLevel, "add_prefix_space", name, location))
            throw new TokenizerFormatException(name, $"{location}.add_prefix_space", "add_prefix_space true is not supported.");
        var regex = !byteLevel.TryGetProperty("use_regex", out var value) || value.ValueKind != JsonValueKind.False;
        if (regex != useRegex)
            throw new TokenizerFormatException(name, $"{location}.use_regex", $"use_regex must be {(useRegex ? "true" : "false")} here.");
    }

    private static (string Left, string Right) SplitMergeLine(string line, string name, string location)
    {
        var space = line.IndexOf(' ', StringComparison.Ordinal);
        if (space <= 0 || space == line.Length - 1 || line.IndexOf(' ', space + 1) >= 0)
            throw new TokenizerFormatException(name, location, $"a merge is two tokens separated by one space, not \"{line}\".");
        return (line[..space], line[(space + 1)..]);
    }

    private static (int, int) MergeIds(Dictionary<string, int> idOfToken, string left, string right, string name, string location)
    {
        if (!idOfToken.TryGetValue(left, out var leftId))
            throw new TokenizerFormatException(name, location, $"'{left}' is not in the vocabulary.");
        if (!idOfToken.TryGetValue(right, out var rightId))
            throw new TokenizerFormatException(name, location, $"'{right}' is not in the vocabulary.");
        if (!idOfToken.ContainsKey(left + right))
            throw new TokenizerFormatException(name, location, $"the merged token '{left + right}' is not in the vocabulary.");
        return (leftId, rightId);
    }

    private static void AddToVocabulary(SortedDictionary<int, string> vocabulary, int id, string token, string name, string location)
    {
        if (!vocabulary.TryAdd(id, token))
            throw new TokenizerFormatException(name, location, $"id {id} is used by both '{vocabulary[id]}' and '{token}'.");
    }

    private static string[] DenseTokens(SortedDictionary<int, string> vocabulary, string name, string location)
    {
        var tokens = new string[vocabulary.Count];
        var expected = 0;
        foreach (var (id, token) in vocabulary)
        {
            if (id != expected)
                throw new TokenizerFormatException(name, location, $"ids must run from 0 without gaps; id {expected} is missing.");
            tokens[expected++] = token;
        }
        if (tokens.Length < 2)
            throw new TokenizerFormatException(name, location, "the vocabulary is empty.");
        return tokens;
    }

    private static Dictionary<string, int> IdsOf(string[] tokens, string name, string location)
    {
        var ids = new Dictionary<string, int>(tokens.Length, StringComparer.Ordinal);
        for (var id = 0; id < tokens.Length; id++)
        {
            if (!ids.TryAdd(tokens[id], id))
                throw new TokenizerFormatException(name, location, $"'{tokens[id]}' appears twice, as ids {ids[tokens[id]]} and {id}.");
        }
        return ids;
    }

    private static FileStream OpenForReading(string path) =>
        File.Exists(path) ? File.OpenRead(path) : throw new FileNotFoundException($"Tokenizer file '{path}' does not exist.", path);

    private static JsonDocument Parse(Stream input, string name)
    {
        try
        {
            return JsonDocument.Parse(input, ReaderOptions);
        }
        catch (JsonException e)
        {
            throw new TokenizerFormatException(name, $"line {e.LineNumber + 1}, byte {e.BytePositionInLine + 1}", $"not valid JSON ({e.Message.Split('.')[0]}).");
        }
    }

    private static JsonElement Property(JsonElement owner, string property, string name, string location) =>
        owner.TryGetProperty(property, out var value) ? value
            : throw new TokenizerFormatException(name, location == "$" ? property : $"{location}.{property}", "this field is missing.");

    private static JsonElement Expect(JsonElement element, JsonValueKind kind, string name, string location) =>
        element.ValueKind == kind ? element
            : throw new TokenizerFormatException(name, location, $"expected {Article(kind)}, found {Article(element.ValueKind)}.");

    private static bool Flag(JsonElement owner, string property, string name, string location)
    {
        if (!owner.TryGetProperty(property, out var value) || value.ValueKind == JsonValueKind.Null)
            return false;
        return value.ValueKind switch
        {
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            _ => throw new TokenizerFormatException(name, $"{location}.{property}", $"expected true or false, found {value.GetRawText()}."),
        };
    }

    private static string TypeOf(JsonElement element) =>
        element.ValueKind == JsonValueKind.Object && element.TryGetProperty("type", out var type) && type.ValueKind == JsonValueKind.String
            ? type.GetString()!
            : element.ValueKind.ToString();

    private static string Article(JsonValueKind kind) => kind switch
    {
        JsonValueKind.Object => "an object",
        JsonValueKind.Array => "an array",
        JsonValueKind.String => "a string",
        JsonValueKind.Number => "a number",
        JsonValueKind.True or JsonValueKind.False => "a boolean",
        JsonValueKind.Null => "null",
        _ => "nothing",
    };
}
