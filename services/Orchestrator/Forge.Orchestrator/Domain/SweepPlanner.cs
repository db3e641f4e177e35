using System.Globalization;
using System.Reflection;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using System.Text.RegularExpressions;
using Forge.Model;

namespace Forge.Orchestrator.Domain;

/// <summary>What is wrong with a sweep, by field: <c>parameters.model.heads</c>, <c>training.evaluationInterval</c>, <c>pruning.rungs</c>.</summary>
public sealed record SweepProblem(string Field, string Message);

/// <summary>A sweep as asked for, its names already checked: the base settings and what to vary.</summary>
public sealed record SweepDefinition(GptConfig Model, TrainingConfig Training, JsonElement? Parameters, SweepStrategy Strategy, int? Trials, int Seed, SweepPruning Pruning);

/// <summary>One trial's swept values and the whole configuration they make.</summary>
public sealed record PlannedTrial(IReadOnlyList<SweepSetting> Settings, GptConfig Model, TrainingConfig Training);

/// <summary>
/// Turns a sweep's parameters into trials: a grid is every combination of the value lists (the first parameter varies
/// slowest); random search draws each parameter of each trial from its list, or from a {min, max, log} range, with a
/// seeded generator, so the same request makes the same trials. Every trial's configuration is checked as the trainer
/// would check it, and each problem is pinned on the swept parameter that caused it.
/// </summary>
public static class SweepPlanner
{
    public const int MaxTrials = 256;

    private sealed record Field(string Section, string JsonName, string PropertyName, Type Type)
    {
        public string Path => $"{Section}.{JsonName}";
        public bool IsInteger => Type == typeof(int) || Type == typeof(long);
        public bool IsNumber => IsInteger || Type == typeof(double);
    }

    private sealed record Range(double Min, double Max, bool Log);

    /// <summary>A swept parameter: a list of values, or (random search only) a range.</summary>
    private sealed record Dimension(Field Field, IReadOnlyList<JsonNode> Values, Range? Range);

    private static readonly IReadOnlyList<Field> Fields = [.. FieldsOf<GptConfig>("model"), .. FieldsOf<TrainingConfig>("training")];

    private static IEnumerable<Field> FieldsOf<T>(string section) =>
        typeof(T).GetProperties(BindingFlags.Public | BindingFlags.Instance)
            .Where(p => p.SetMethod is not null && p.GetCustomAttribute<JsonIgnoreAttribute>() is null)
            .Select(p => new Field(section, JsonNamingPolicy.CamelCase.ConvertName(p.Name), p.Name, p.PropertyType));

    public static (IReadOnlyList<PlannedTrial> Trials, IReadOnlyList<SweepProblem> Problems) Plan(SweepDefinition definition)
    {
        var problems = new List<SweepProblem>();
        var bases = new Dictionary<string, JsonObject>
        {
            ["model"] = JsonSerializer.SerializeToNode(definition.Model, BuildManager.ConfigJson)!.AsObject(),
            ["training"] = JsonSerializer.SerializeToNode(definition.Training, BuildManager.ConfigJson)!.AsObject(),
        };
        var dimensions = ReadParameters(definition, bases, problems);
        CheckPruning(definition.Pruning, problems);
        if (problems.Count > 0)
            return ([], problems);

        var combinations = Combinations(definition, dimensions, problems);
        if (problems.Count > 0)
            return ([], problems);

        var trials = new List<PlannedTrial>();
        foreach (var (values, index) in combinations.Select((c, i) => (c, i + 1)))
        {
            var settings = dimensions.Zip(values, (d, v) => new SweepSetting(d.Field.Path, v.ToJsonString())).ToList();
            var model = Apply<GptConfig>(bases["model"], dimensions, values);
            var training = Apply<TrainingConfig>(bases["training"], dimensions, values);
            var swept = dimensions.Select(d => d.Field).ToList();
            var trial = $"trial {index} ({string.Join(", ", settings.Select(s => $"{s.Path}={s.Value}"))})";
            foreach (var problem in model.Problems())
                problems.Add(Pin(problem, "model", swept, trial));
            foreach (var problem in training.Problems())
                problems.Add(Pin(problem, "training", swept, trial));
            if (training.EvaluationInterval <= 0)
                problems.Add(Pin($"{nameof(TrainingConfig.EvaluationInterval)} must be positive (got {training.EvaluationInterval}): trials are compared on their validation loss at evaluation steps.", "training", swept, trial));
            else
                CheckRungs(definition.Pruning, training, trial, problems);
            trials.Add(new PlannedTrial(settings, model, training));
        }
        // One message per field is enough to fix it; every trial with the same fault would repeat it.
        problems = [.. problems.DistinctBy(p => p.Field)];
        return problems.Count > 0 ? ([], problems) : (trials, []);
    }

    private static List<Dimension> ReadParameters(SweepDefinition definition, Dictionary<string, JsonObject> bases, List<SweepProblem> problems)
    {
        var dimensions = new List<Dimension>();
        if (definition.Parameters is not { ValueKind: JsonValueKind.Object } parameters || !parameters.EnumerateObject().Any())
        {
            problems.Add(new("parameters", "name at least one setting to sweep, e.g. {\"training.learningRate\": [1e-3, 3e-3]}"));
            return dimensions;
        }
        foreach (var parameter in parameters.EnumerateObject())
        {
            var name = $"parameters.{parameter.Name}";
            if (Resolve(parameter.Name) is not { } field)
            {
                problems.Add(new(name, UnknownField(parameter.Name)));
                continue;
            }
            if (dimensions.Any(d => d.Field == field))
            {
                problems.Add(new(name, $"{field.Path} is swept twice"));
                continue;
            }
            name = $"parameters.{field.Path}";
            var dimension = parameter.Value.ValueKind switch
            {
                JsonValueKind.Array => ReadValues(bases[field.Section], field, parameter.Value, name, problems),
                JsonValueKind.Object => ReadRange(definition, field, parameter.Value, name, problems),
                _ => Refuse(problems, name, "give a list of values" + (definition.Strategy == SweepStrategy.Random ? " or a {\"min\", \"max\", \"log\"} range" : "")),
            };
            if (dimension is not null)
                dimensions.Add(dimension);
        }
        return dimensions;
    }

    private static Dimension? ReadValues(JsonObject section, Field field, JsonElement list, string name, List<SweepProblem> problems)
    {
        var values = new List<JsonNode>();
        foreach (var (element, i) in list.EnumerateArray().Select((v, i) => (v, i)))
        {
            if (JsonNode.Parse(element.GetRawText()) is not { } value)
                return Refuse(problems, name, $"value {i} is null; give {Describe(field.Type)}");
            var template = section.DeepClone().AsObject();
            template[field.JsonName] = value.DeepClone();
            try
            {
                _ = field.Section == "model" ? template.Deserialize<GptConfig>(BuildManager.ConfigJson) : (object?)template.Deserialize<TrainingConfig>(BuildManager.ConfigJson);
            }
            catch (JsonException)
            {
                return Refuse(problems, name, $"value {i} ({value.ToJsonString()}) is not a valid {field.JsonName}: give {Describe(field.Type)}");
            }
            values.Add(value);
        }
        return values.Count == 0 ? Refuse(problems, name, "the list of values is empty") : new Dimension(field, values, null);
    }

    private static Dimension? ReadRange(SweepDefinition definition, Field field, JsonElement range, string name, List<SweepProblem> problems)
    {
        if (definition.Strategy != SweepStrategy.Random)
            return Refuse(problems, name, "a {\"min\", \"max\"} range needs strategy random; a grid takes a list of values");
        if (!field.IsNumber)
            return Refuse(problems, name, $"a range needs a numeric setting; {field.JsonName} is {Describe(field.Type)}, so give a list of values");
        double? min = null, max = null;
        var log = false;
        foreach (var bound in range.EnumerateObject())
        {
            switch (bound.Name)
            {
                case "min" when bound.Value.ValueKind == JsonValueKind.Number:
                    min = bound.Value.GetDouble();
                    break;
                case "max" when bound.Value.ValueKind == JsonValueKind.Number:
                    max = bound.Value.GetDouble();
                    break;
                case "log" when bound.Value.ValueKind is JsonValueKind.True or JsonValueKind.False:
                    log = bound.Value.GetBoolean();
                    break;
                default:
                    return Refuse(problems, name, $"'{bound.Name}' is not part of a range: give min and max (numbers) and optionally log (true or false)");
            }
        }
        if (min is not { } low || max is not { } high)
            return Refuse(problems, name, "a range needs both min and max");
        if (!(low < high))
            return Refuse(problems, name, $"min ({low.ToString(CultureInfo.InvariantCulture)}) must be below max ({high.ToString(CultureInfo.InvariantCulture)})");
        if (log && !(low > 0))
            return Refuse(problems, name, "a log range needs a positive min");
        if (field.IsInteger && Math.Floor(high) < Math.Ceiling(low))
            return Refuse(problems, name, $"{field.JsonName} is a whole number and the range holds none");
        return new Dimension(field, [], new Range(low, high, log));
    }

    private static void CheckPruning(SweepPruning pruning, List<SweepProblem> problems)
    {
        switch (pruning.Rule)
        {
            case PruningRule.Median:
                if (pruning.WarmupEvaluations < 0)
                    problems.Add(new("pruning.warmupEvaluations", "must not be negative"));
                if (pruning.MinTrials < 1)
                    problems.Add(new("pruning.minTrials", "must be at least 1: the median of no trials says nothing"));
                break;
            case PruningRule.Halving:
                if (pruning.Rungs.Count == 0)
                    problems.Add(new("pruning.rungs", "name the evaluation steps at which trials are compared, e.g. [20, 40]"));
                else if (pruning.Rungs.Any(r => r <= 0) || pruning.Rungs.Zip(pruning.Rungs.Skip(1)).Any(p => p.First >= p.Second))
                    problems.Add(new("pruning.rungs", "must be positive steps in increasing order"));
                if (pruning.Eta < 2)
                    problems.Add(new("pruning.eta", "must be at least 2: each rung keeps the best 1/eta"));
                break;
        }
    }

    private static void CheckRungs(SweepPruning pruning, TrainingConfig training, string trial, List<SweepProblem> problems)
    {
        if (pruning.Rule != PruningRule.Halving)
            return;
        foreach (var rung in pruning.Rungs)
        {
            if (rung % training.EvaluationInterval != 0)
                problems.Add(new("pruning.rungs", $"step {rung} is not an evaluation step of {trial}, which evaluates every {training.EvaluationInterval} steps"));
            else if (rung >= training.MaxSteps)
                problems.Add(new("pruning.rungs", $"step {rung} is not before the last step ({training.MaxSteps}) of {trial}"));
        }
    }

    /// <summary>Each trial's values, in dimension order.</summary>
    private static List<JsonNode[]> Combinations(SweepDefinition definition, List<Dimension> dimensions, List<SweepProblem> problems)
    {
        if (definition.Strategy == SweepStrategy.Grid)
        {
            if (definition.Trials is not null)
                problems.Add(new("trials", "applies to random search; a grid runs every combination of its values"));
            var count = dimensions.Aggregate(1.0, (product, d) => product * d.Values.Count);
            if (count > MaxTrials)
                problems.Add(new("parameters", $"the grid has {count:N0} combinations; at most {MaxTrials} trials can run in one sweep"));
            if (problems.Count > 0)
                return [];
            IEnumerable<JsonNode[]> grid = [[]];
            foreach (var dimension in dimensions)
                grid = grid.SelectMany(prefix => dimension.Values.Select(value => (JsonNode[])[.. prefix, value]));
            return [.. grid];
        }
        if (definition.Trials is not { } trials || trials is < 1 or > MaxTrials)
        {
            problems.Add(new("trials", $"random search needs the number of trials, 1 to {MaxTrials}"));
            return [];
        }
        var random = new Random(definition.Seed);
        return [.. Enumerable.Range(0, trials).Select(_ => dimensions.Select(d => Draw(d, random)).ToArray())];
    }

    private static JsonNode Draw(Dimension dimension, Random random)
    {
        if (dimension.Range is not { } range)
            return dimension.Values[random.Next(dimension.Values.Count)];
        var u = random.NextDouble();
        var value = range.Log
            ? Math.Exp(Math.Log(range.Min) + u * (Math.Log(range.Max) - Math.Log(range.Min)))
            : range.Min + u * (range.Max - range.Min);
        return dimension.Field.IsInteger
            ? JsonValue.Create((long)Math.Clamp(Math.Round(value, MidpointRounding.AwayFromZero), Math.Ceiling(range.Min), Math.Floor(range.Max)))
            : JsonValue.Create(value);
    }

    private static T Apply<T>(JsonObject template, List<Dimension> dimensions, JsonNode[] values)
    {
        var section = typeof(T) == typeof(GptConfig) ? "model" : "training";
        var node = template.DeepClone().AsObject();
        foreach (var (dimension, value) in dimensions.Zip(values))
        {
            if (dimension.Field.Section == section)
                node[dimension.Field.JsonName] = value.DeepClone();
        }
        return node.Deserialize<T>(BuildManager.ConfigJson)!;
    }

    /// <summary>
    /// Names a configuration problem by the setting it is about: the swept parameter it mentions (so a value that makes
    /// heads not divide width is <c>parameters.model.heads</c>), else the base setting it mentions, else the section.
    /// </summary>
    private static SweepProblem Pin(string problem, string section, List<Field> swept, string trial)
    {
        var mentioned = Fields.Where(f => f.Section == section && Regex.IsMatch(problem, $@"\b{f.PropertyName}\b")).ToList();
        if (mentioned.FirstOrDefault(swept.Contains) is { } parameter)
            return new($"parameters.{parameter.Path}", $"{trial}: {problem}");
        return new(mentioned.Count > 0 ? mentioned[0].Path : section, problem);
    }

    private static Field? Resolve(string path)
    {
        var parts = path.Split('.');
        return parts.Length == 2
            ? Fields.FirstOrDefault(f => f.Section.Equals(parts[0], StringComparison.OrdinalIgnoreCase) && f.JsonName.Equals(parts[1], StringComparison.OrdinalIgnoreCase))
            : null;
    }

    private static string UnknownField(string path)
    {
        var section = path.Split('.')[0].ToLowerInvariant();
        var known = Fields.Where(f => f.Section == section).Select(f => f.JsonName).ToList();
        return known.Count == 0
            ? "a setting is model.<field> or training.<field>"
            : $"{path} is not a {section} setting; the {section} settings are {string.Join(", ", known)}";
    }

    private static string Describe(Type type) =>
        type == typeof(int) || type == typeof(long) ? "a whole number"
        : type == typeof(double) ? "a number"
        : type == typeof(bool) ? "true or false"
        : type.IsEnum ? $"one of {string.Join(", ", Enum.GetNames(type).Select(JsonNamingPolicy.CamelCase.ConvertName))}"
        : "a string";

    private static Dimension? Refuse(List<SweepProblem> problems, string field, string message)
    {
        problems.Add(new(field, message));
        return null;
    }
}
