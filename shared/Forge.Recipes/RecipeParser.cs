using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Forge.Model;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Forge.Recipes;

/// <summary>
/// Reads the sections of one recipe, applying defaults and making paths absolute against <paramref name="baseFolder"/>
/// (and, with <paramref name="checkPaths"/>, checking that they exist). Every problem goes to
/// <paramref name="errors"/>; the recipe is built only when there is none.
/// </summary>
internal sealed partial class RecipeParser(string baseFolder, bool checkPaths, RecipeErrors errors)
{
    private const string NameRule = "must be 1 to 64 lowercase letters, digits, '.', '_' or '-', starting with a letter or digit";
    private const int MaxCount = 1_000_000;

    private static readonly string[] Formats = ["txt", "md", "html", "pdf", "jsonl"];
    private static readonly string[] TokenizerKinds = [TokenizerSettings.BpeKind, TokenizerSettings.CharKind];
    private static readonly string[] Goals = ["maximize", "minimize"];

    [GeneratedRegex("^[a-z0-9][a-z0-9._-]{0,63}$")]
    private static partial Regex NamePattern();

    public Recipe? Read(YamlMappingNode root)
    {
        var recipe = new YamlSection(root, "", root.Start, errors);
        var name = ReadName(recipe);
        var useCase = recipe.Text("useCase");
        var (sources, validationFraction, cleaning) = ReadData(recipe);
        var tokenizer = ReadTokenizer(recipe.Section("tokenizer"));
        var model = ReadModel(recipe.Section("model"), tokenizer);
        var training = ReadTraining(recipe.Section("training"));
        var fineTuning = ReadFineTuning(recipe.Section("fineTuning"));
        var (evalSets, gates, mustBeatPromoted) = ReadEvaluation(recipe.Section("evaluation"));
        var feedback = ReadFeedback(recipe.Section("feedback"));
        recipe.RejectUnknownKeys();
        if (errors.Count > 0)
            return null;
        return new Recipe
        {
            Name = name,
            UseCase = useCase,
            Sources = sources,
            ValidationFraction = validationFraction,
            CleaningJson = cleaning,
            Tokenizer = tokenizer,
            Model = model,
            Training = training,
            FineTuning = fineTuning,
            EvalSets = evalSets,
            Gates = gates,
            MustBeatPromoted = mustBeatPromoted,
            Feedback = feedback,
        };
    }

    private static string ReadName(YamlSection recipe)
    {
        if (!recipe.Has("name"))
        {
            recipe.ReportMissing("name", "the model's name, such as name: fortunes");
            return "";
        }
        var name = recipe.Text("name");
        if (name is not null && !NamePattern().IsMatch(name))
            recipe.Report("name", NameRule);
        return name ?? "";
    }

    private (IReadOnlyList<DataSource> Sources, double ValidationFraction, string? CleaningJson) ReadData(YamlSection recipe)
    {
        switch (recipe.Get("data"))
        {
            case null:
                recipe.ReportMissing("data", "the training text, as a file or folder (data: corpus/) or as data: {sources: [...]}");
                return ([], RecipeDefaults.ValidationFraction, null);
            case YamlMappingNode:
                var data = recipe.Section("data");
                IReadOnlyList<DataSource> sources = [];
                if (data.Get("sources") is { } listed)
                    sources = ReadSources(data, "sources", listed);
                else
                    data.ReportMissing("sources", "a file or folder, or a list of them");
                var validationFraction = data.Real("validationFraction") ?? RecipeDefaults.ValidationFraction;
                if (validationFraction is <= 0 or > 0.5)
                    data.Report("validationFraction", "must be above 0 and at most 0.5");
                var cleaning = ReadCleaning(data);
                return (sources, validationFraction, cleaning);
            case var shorthand:
                return (ReadSources(recipe, "data", shorthand), RecipeDefaults.ValidationFraction, null);
        }
    }

    /// <summary>The sources under <paramref name="key"/> of <paramref name="owner"/>: a path, or a list of paths and {path, separator, format}.</summary>
    private List<DataSource> ReadSources(YamlSection owner, string key, YamlNode node)
    {
        var field = owner.Field(key);
        if (node is YamlScalarNode)
            return ResolvePath(node, field, filesOnly: false) is { } path ? [new DataSource(path)] : [];
        if (node is not YamlSequenceNode list)
        {
            errors.Add(node, field, $"must be a path or a list of sources, not {YamlScalars.Describe(node)}");
            return [];
        }
        if (list.Children.Count == 0)
            errors.Add(node, field, "needs at least one source");
        var sources = new List<DataSource>();
        for (var i = 0; i < list.Children.Count; i++)
        {
            var item = list.Children[i];
            if (item is YamlMappingNode)
            {
                if (ReadSource(owner.Item(item, key, i)!) is { } source)
                    sources.Add(source);
            }
            else if (item is YamlScalarNode)
            {
                if (ResolvePath(item, owner.ItemField(key, i), filesOnly: false) is { } path)
                    sources.Add(new DataSource(path));
            }
            else
            {
                errors.Add(item, owner.ItemField(key, i), "must be a path or {path, separator, format}, not a list");
            }
        }
        return sources;
    }

    private DataSource? ReadSource(YamlSection source)
    {
        var path = source.Get("path") is { } node ? ResolvePath(node, source.Field("path"), filesOnly: false) : null;
        if (!source.Has("path"))
            source.ReportMissing("path", "the file or folder to read");
        var separator = source.Text("separator");
        if (separator is not null && (separator.Length == 0 || separator.AsSpan().ContainsAny('\r', '\n')))
            source.Report("separator", "must be one line of text: the line that separates documents");
        var format = source.OneOf("format", Formats);
        return path is null ? null : new DataSource(path, separator, format);
    }

    /// <summary>
    /// The absolute path a node names, relative to the recipe's folder. When paths are checked, reports a path with
    /// nothing there, an empty folder, and (with <paramref name="filesOnly"/>) a folder.
    /// </summary>
    private string? ResolvePath(YamlNode node, string field, bool filesOnly)
    {
        if (YamlScalars.Text(node, field, errors) is not { } text)
            return null;
        if (string.IsNullOrWhiteSpace(text))
        {
            errors.Add(node, field, "must be a path, not empty");
            return null;
        }
        // A source may be an http(s) URL: the ingestion service downloads it. Only data sources may (filesOnly is for
        // the fine-tuning data and eval sets, which the orchestrator reads itself).
        if (!filesOnly && Uri.TryCreate(text.Trim(), UriKind.Absolute, out var url) && (url.Scheme == Uri.UriSchemeHttp || url.Scheme == Uri.UriSchemeHttps))
            return url.AbsoluteUri;
        var path = Path.TrimEndingDirectorySeparator(Path.GetFullPath(text, baseFolder));
        if (!checkPaths)
            return path;
        if (Directory.Exists(path))
        {
            if (filesOnly)
                errors.Add(node, field, $"{path} is a folder: give a file");
            else if (!Directory.EnumerateFiles(path, "*", new EnumerationOptions { RecurseSubdirectories = true, IgnoreInaccessible = true }).Any())
                errors.Add(node, field, $"the folder {path} holds no files");
        }
        else if (!File.Exists(path))
        {
            errors.Add(node, field, $"there is no {(filesOnly ? "file" : "file or folder")} at {path}");
        }
        return path;
    }

    /// <summary>The cleaning settings as JSON with camelCase keys; values are scalars or lists of scalars.</summary>
    private string? ReadCleaning(YamlSection data)
    {
        if (data.Get("cleaning") is not { } node)
            return null;
        var field = data.Field("cleaning");
        if (node is not YamlMappingNode map)
        {
            errors.Add(node, field, $"must be a mapping of cleaning settings (qualityFilters: false), not {YamlScalars.Describe(node)}");
            return null;
        }
        var settings = new JsonObject();
        foreach (var (key, value) in map.Children)
        {
            if (key is not YamlScalarNode { Value: { } name })
            {
                errors.Add(key, field, $"a key must be a name, not {YamlScalars.Describe(key)}");
                continue;
            }
            var setting = JsonNamingPolicy.CamelCase.ConvertName(name);
            if (settings.ContainsKey(setting))
                errors.Add(key, $"{field}.{name}", $"sets {setting} a second time");
            else if (value is YamlScalarNode scalar)
                settings[setting] = ScalarJson(scalar);
            else if (value is YamlSequenceNode list && list.Children.All(item => item is YamlScalarNode))
                settings[setting] = new JsonArray([.. list.Children.Select(item => ScalarJson((YamlScalarNode)item))]);
            else
                errors.Add(value, $"{field}.{name}", $"must be a value or a list of values, not {YamlScalars.Describe(value)}");
        }
        return settings.ToJsonString();
    }

    /// <summary>A plain scalar that reads as a boolean or number is one; anything else, and anything quoted, is text.</summary>
    private static JsonValue? ScalarJson(YamlScalarNode scalar)
    {
        if (YamlScalars.IsNull(scalar))
            return null;
        var text = scalar.Value!;
        if (scalar.Style is ScalarStyle.Plain)
        {
            if (text is "true" or "True" or "TRUE" or "false" or "False" or "FALSE")
                return JsonValue.Create(text.Equals("true", StringComparison.OrdinalIgnoreCase));
            if (long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var whole))
                return JsonValue.Create(whole);
            if (double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var real) && double.IsFinite(real))
                return JsonValue.Create(real);
        }
        return JsonValue.Create(text);
    }

    private static TokenizerSettings ReadTokenizer(YamlSection tokenizer)
    {
        var kind = tokenizer.OneOf("kind", TokenizerKinds) ?? TokenizerSettings.BpeKind;
        if (kind == TokenizerSettings.CharKind)
        {
            foreach (var bpeOnly in new[] { "vocabularySize", "minFrequency", "specialTokens" })
            {
                if (tokenizer.Has(bpeOnly))
                    tokenizer.Report(bpeOnly, "applies to bpe tokenizers only: a char tokenizer's vocabulary is every character of the training text");
            }
            return new TokenizerSettings { Kind = kind, VocabularySize = 0, MinFrequency = 1, SpecialTokens = [] };
        }
        var specialTokens = ReadSpecialTokens(tokenizer) ?? RecipeDefaults.SpecialTokens;
        var vocabularySize = tokenizer.Int("vocabularySize") ?? RecipeDefaults.VocabularySize;
        var smallest = 256 + specialTokens.Count;
        if (vocabularySize < smallest)
            tokenizer.Report("vocabularySize", $"must be at least {smallest}: a byte-level BPE vocabulary holds the 256 bytes and the {specialTokens.Count} special tokens");
        else if (vocabularySize > MaxCount)
            tokenizer.Report("vocabularySize", $"must be at most {MaxCount}");
        var minFrequency = tokenizer.Int("minFrequency") ?? RecipeDefaults.MinFrequency;
        if (minFrequency < 1)
            tokenizer.Report("minFrequency", "must be at least 1");
        return new TokenizerSettings { Kind = kind, VocabularySize = vocabularySize, MinFrequency = minFrequency, SpecialTokens = specialTokens };
    }

    private static List<string>? ReadSpecialTokens(YamlSection tokenizer)
    {
        if (tokenizer.List("specialTokens", "tokens") is not { } list)
            return null;
        var tokens = new List<string>();
        for (var i = 0; i < list.Children.Count; i++)
        {
            var field = tokenizer.ItemField("specialTokens", i);
            var token = YamlScalars.Text(list.Children[i], field, tokenizer.Errors);
            if (string.IsNullOrEmpty(token))
            {
                if (token is not null)
                    tokenizer.Errors.Add(list.Children[i], field, "must not be empty");
            }
            else if (tokens.Contains(token))
            {
                tokenizer.Errors.Add(list.Children[i], field, $"{token} is already in the list");
            }
            else
            {
                tokens.Add(token);
            }
        }
        return tokens;
    }

    private static GptConfig ReadModel(YamlSection section, TokenizerSettings tokenizer)
    {
        var vocabularySize = JsonNamingPolicy.CamelCase.ConvertName(nameof(GptConfig.VocabularySize));
        var model = ConfigSection.Read(section, () => RecipeDefaults.Model with { }, vocabularySize);
        if (section.Has(vocabularySize))
            section.Report(vocabularySize, "is not a model field: the model's vocabulary is the tokenizer's (set tokenizer.vocabularySize)");
        // Judged with a stand-in vocabulary, which the tokenizer section checks: the real size is known only once the tokenizer is trained.
        ConfigSection.Report(section, typeof(GptConfig), (model with { VocabularySize = Math.Max(1, tokenizer.VocabularySize) }).Problems());
        return model with { VocabularySize = 0 };
    }

    private static TrainingConfig ReadTraining(YamlSection section)
    {
        var training = ConfigSection.Read(section, () => RecipeDefaults.Training with { });
        // The cosine ends where the run ends unless the recipe says otherwise.
        if (section.Has("maxSteps") && !section.Has("decaySteps"))
            training = training with { DecaySteps = training.MaxSteps };
        ConfigSection.Report(section, typeof(TrainingConfig), training.Problems());
        return training;
    }

    private FineTuningSettings? ReadFineTuning(YamlSection section)
    {
        if (!section.IsGiven)
            return null;
        var data = section.Get("data") is { } node ? ResolvePath(node, section.Field("data"), filesOnly: true) : null;
        if (!section.Has("data"))
            section.ReportMissing("data", "a JSONL file of {prompt, completion} or {messages} examples");
        var maxSteps = section.Long("maxSteps") ?? RecipeDefaults.FineTuningMaxSteps;
        if (maxSteps < 1)
            section.Report("maxSteps", "must be at least 1");
        var learningRate = section.Real("learningRate") ?? RecipeDefaults.FineTuningLearningRate;
        if (learningRate <= 0)
            section.Report("learningRate", "must be positive");
        var batchSize = section.Int("batchSize") ?? RecipeDefaults.FineTuningBatchSize;
        if (batchSize < 1)
            section.Report("batchSize", "must be at least 1");
        var replayFraction = section.Real("replayFraction") ?? RecipeDefaults.FineTuningReplayFraction;
        if (replayFraction is < 0 or >= 1)
            section.Report("replayFraction", "must be at least 0 and below 1: some of each batch must be fine-tuning examples");
        return new FineTuningSettings(data ?? "", maxSteps, learningRate, batchSize, replayFraction);
    }

    private (List<EvaluationSet> Sets, List<PromotionGate> Gates, bool MustBeatPromoted) ReadEvaluation(YamlSection evaluation)
    {
        var sets = ReadEvalSets(evaluation);
        var gates = ReadGates(evaluation, [.. sets.Select(set => set.Name)]);
        var mustBeatPromoted = evaluation.Bool("mustBeatPromoted") ?? true;
        return (sets, gates, mustBeatPromoted);
    }

    private List<EvaluationSet> ReadEvalSets(YamlSection evaluation)
    {
        var sets = new List<EvaluationSet>();
        if (evaluation.List("sets", "eval sets {name, path}") is not { } list)
            return sets;
        var firstUse = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var set in evaluation.Items(list, "sets"))
        {
            var name = set.Text("name");
            if (name is null && !set.Has("name"))
                set.ReportMissing("name", "the eval set's name, which gates refer to");
            else if (name == GateMetrics.ValidationSet)
                set.Report("name", "validation is the held-out split every version is measured on: give this set another name");
            else if (name is not null && !NamePattern().IsMatch(name))
                set.Report("name", NameRule);
            else if (name is not null && !firstUse.TryAdd(name, set.Field("name")))
                set.Report("name", $"{name} is already the name of {firstUse[name]}");
            var path = set.Get("path") is { } node ? ResolvePath(node, set.Field("path"), filesOnly: true) : null;
            if (!set.Has("path"))
                set.ReportMissing("path", "a JSONL file of {prompt, references} examples");
            if (name is not null && path is not null)
                sets.Add(new EvaluationSet(name, path));
        }
        return sets;
    }

    private static List<PromotionGate> ReadGates(YamlSection evaluation, HashSet<string> evalSets)
    {
        var gates = new List<PromotionGate>();
        if (evaluation.List("metrics", "gates {evalSet, metric, threshold, goal}") is not { } list)
            return gates;
        var firstUse = new Dictionary<(string, string), string>();
        foreach (var gate in evaluation.Items(list, "metrics"))
        {
            var evalSet = gate.Text("evalSet");
            if (evalSet is null && !gate.Has("evalSet"))
                gate.ReportMissing("evalSet", "validation, or the name of one of evaluation.sets");
            var metric = gate.Text("metric");
            if (metric is null && !gate.Has("metric"))
                gate.ReportMissing("metric", "the metric to gate on, such as perplexity or bleu");
            var threshold = gate.Real("threshold");
            var goal = gate.OneOf("goal", Goals);
            if (evalSet is null || metric is null)
                continue;

            var isValidation = evalSet == GateMetrics.ValidationSet;
            if (!isValidation && !evalSets.Contains(evalSet))
            {
                gate.Report("evalSet", $"names no eval set of this recipe: use validation or define {evalSet} under evaluation.sets"
                    + Suggestions.DidYouMean(evalSet, evalSets.Append(GateMetrics.ValidationSet)));
            }
            var metrics = isValidation ? GateMetrics.Validation : GateMetrics.Task;
            if (!metrics.TryGetValue(metric, out var scale))
            {
                gate.Report("metric", $"is not measured on {(isValidation ? "the validation set" : "task eval sets")}: use one of "
                    + string.Join(", ", metrics.Keys) + Suggestions.DidYouMean(metric, metrics.Keys));
            }
            else if (threshold is { } value && (value < scale.Min || value > scale.Max))
            {
                gate.Report("threshold", string.Create(CultureInfo.InvariantCulture, $"{value} is out of range for {metric}: {scale.Rule}"));
            }
            if (!firstUse.TryAdd((evalSet, metric), gate.Field("metric")))
                gate.Report("metric", $"{metric} on {evalSet} is already gated by {firstUse[(evalSet, metric)]}");
            gates.Add(new PromotionGate(evalSet, metric, threshold, goal));
        }
        return gates;
    }

    private static FeedbackPolicy? ReadFeedback(YamlSection feedback)
    {
        if (!feedback.IsGiven)
            return null;
        var minNewFeedback = feedback.Int("minNewFeedback");
        if (minNewFeedback is null && !feedback.Has("minNewFeedback"))
            feedback.ReportMissing("minNewFeedback", "how many new feedback items a retraining needs");
        else if (minNewFeedback is < 1 or > MaxCount)
            feedback.Report("minNewFeedback", $"must be from 1 to {MaxCount}");
        var minNewExamples = feedback.Int("minNewExamples") ?? RecipeDefaults.FeedbackMinNewExamples;
        if (minNewExamples < 1 || minNewExamples > (minNewFeedback ?? MaxCount))
            feedback.Report("minNewExamples", "must be at least 1 and at most minNewFeedback: examples are the new feedback items that make fine-tuning examples");
        var ratingBelow = feedback.Real("ratingBelow");
        if (ratingBelow is <= 1 or > 5)
            feedback.Report("ratingBelow", "must be above 1 and at most 5: a mean rating below it asks for retraining");
        var minRatings = feedback.Int("minRatings") ?? RecipeDefaults.FeedbackMinRatings;
        if (minRatings is < 1 or > MaxCount)
            feedback.Report("minRatings", $"must be from 1 to {MaxCount}");
        var enabled = feedback.Bool("enabled") ?? true;
        return new FeedbackPolicy
        {
            MinNewFeedback = minNewFeedback ?? 0,
            MinNewExamples = minNewExamples,
            RatingBelow = ratingBelow,
            MinRatings = minRatings,
            Enabled = enabled,
        };
    }
}
