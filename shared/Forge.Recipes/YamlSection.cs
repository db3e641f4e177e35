using System.Globalization;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Forge.Recipes;

/// <summary>The errors found in one recipe so far.</summary>
internal sealed class RecipeErrors
{
    private readonly List<RecipeError> _errors = [];

    public int Count => _errors.Count;

    public void Add(Mark at, string field, string message) =>
        _errors.Add(new RecipeError(checked((int)at.Line), checked((int)at.Column), field, message));

    public void Add(YamlNode node, string field, string message) => Add(node.Start, field, message);

    /// <summary>By line, then column; errors at one place keep the order they were found in.</summary>
    public IReadOnlyList<RecipeError> InFileOrder() => [.. _errors.OrderBy(error => error.Line).ThenBy(error => error.Column)];
}

/// <summary>
/// One YAML mapping read as a recipe section. It remembers the keys it was asked for, so the keys left once the whole
/// recipe is read are the unknown ones, and it reports each problem at the node that holds it, or where the section
/// is named when the value at fault is a default.
/// </summary>
internal sealed class YamlSection
{
    private readonly Dictionary<string, (YamlScalarNode Key, YamlNode Value)> _entries = new(StringComparer.Ordinal);
    private readonly List<string> _known = [];
    private readonly List<YamlSection> _children = [];
    private readonly string _path;
    private YamlSection? _parent;

    /// <param name="node">The mapping; null for a section the recipe leaves out, whose fields all take their defaults.</param>
    /// <param name="path">The section's dotted path ("" for the recipe itself).</param>
    /// <param name="at">Where the section is named: the place to report what it lacks.</param>
    public YamlSection(YamlMappingNode? node, string path, Mark at, RecipeErrors errors)
    {
        _path = path;
        At = at;
        Errors = errors;
        IsGiven = node is not null;
        if (node is null)
            return;
        foreach (var (key, value) in node.Children)
        {
            if (key is YamlScalarNode { Value: { } name } scalar)
                _entries[name] = (scalar, value);
            else
                errors.Add(key, path, $"a key must be a name, not {YamlScalars.Describe(key)}");
        }
    }

    public Mark At { get; }
    public RecipeErrors Errors { get; }

    /// <summary>False when the recipe leaves the section out (or gives it as null).</summary>
    public bool IsGiven { get; }

    public string Field(string key) => _path.Length == 0 ? key : $"{_path}.{key}";

    /// <summary>The value of <paramref name="key"/>; null when it is absent or null (nothing, ~ or null).</summary>
    public YamlNode? Get(string key)
    {
        if (!_known.Contains(key))
            _known.Add(key);
        return _entries.TryGetValue(key, out var entry) && !YamlScalars.IsNull(entry.Value) ? entry.Value : null;
    }

    public bool Has(string key) => Get(key) is not null;

    /// <summary>Reports a problem with the value of <paramref name="key"/>, at that value or, when it is a default, at the section.</summary>
    public void Report(string key, string message) => Errors.Add(Get(key)?.Start ?? At, Field(key), message);

    /// <summary>Reports a problem with the section as a whole.</summary>
    public void Report(string message) => Errors.Add(At, _path, message);

    public void ReportMissing(string key, string what) => Errors.Add(At, Field(key), $"is required: {what}");

    public string? Text(string key) => Get(key) is { } node ? YamlScalars.Text(node, Field(key), Errors) : null;

    public int? Int(string key) => Get(key) is { } node ? (int?)YamlScalars.Integer(node, Field(key), Errors, int.MinValue, int.MaxValue) : null;

    public long? Long(string key) => Get(key) is { } node ? YamlScalars.Integer(node, Field(key), Errors, long.MinValue, long.MaxValue) : null;

    public double? Real(string key) => Get(key) is { } node ? YamlScalars.Real(node, Field(key), Errors) : null;

    public bool? Bool(string key) => Get(key) is { } node ? YamlScalars.Bool(node, Field(key), Errors) : null;

    /// <summary>One of <paramref name="values"/>, ignoring case, given as it is written there.</summary>
    public string? OneOf(string key, IReadOnlyList<string> values) =>
        Get(key) is { } node ? YamlScalars.OneOf(node, values, Field(key), Errors) : null;

    /// <summary>The section under <paramref name="key"/>: one not given when it is absent, or not a mapping (reported).</summary>
    public YamlSection Section(string key)
    {
        var node = Get(key);
        if (node is not (null or YamlMappingNode))
            Errors.Add(node, Field(key), $"must be a mapping of fields (key: value), not {YamlScalars.Describe(node)}");
        return Child(new YamlSection(node as YamlMappingNode, Field(key), _entries.TryGetValue(key, out var entry) ? entry.Key.Start : At, Errors));
    }

    /// <summary>The items of the list under <paramref name="key"/> that are mappings, as sections; other items are reported.</summary>
    public IEnumerable<YamlSection> Items(YamlSequenceNode list, string key)
    {
        for (var i = 0; i < list.Children.Count; i++)
        {
            if (Item(list.Children[i], key, i) is { } item)
                yield return item;
        }
    }

    /// <summary>Item <paramref name="index"/> of the list under <paramref name="key"/> as a section, or null (reported) when it is not a mapping.</summary>
    public YamlSection? Item(YamlNode node, string key, int index)
    {
        var field = ItemField(key, index);
        if (node is YamlMappingNode map)
            return Child(new YamlSection(map, field, map.Start, Errors));
        Errors.Add(node, field, $"must be a mapping of fields, not {YamlScalars.Describe(node)}");
        return null;
    }

    public string ItemField(string key, int index) => string.Create(CultureInfo.InvariantCulture, $"{Field(key)}[{index}]");

    /// <summary>The list under <paramref name="key"/>, or null when it is absent or not a list (reported).</summary>
    public YamlSequenceNode? List(string key, string of)
    {
        var node = Get(key);
        if (node is not (null or YamlSequenceNode))
            Errors.Add(node, Field(key), $"must be a list of {of}, not {YamlScalars.Describe(node)}");
        return node as YamlSequenceNode;
    }

    /// <summary>
    /// Reports every key that was not asked for, here and in the sections below, once the whole recipe is read. The
    /// hint is the closest known key; else the section beside or below that knows the key (a key indented wrongly);
    /// else the list of known keys.
    /// </summary>
    public void RejectUnknownKeys()
    {
        foreach (var (name, (key, _)) in _entries)
        {
            if (_known.Contains(name))
                continue;
            var hint = Suggestions.DidYouMean(name, _known);
            if (hint.Length == 0)
            {
                var neighbours = (_parent?._children ?? []).Concat(_children).Where(section => section != this);
                hint = neighbours.FirstOrDefault(section => section._known.Contains(name, StringComparer.OrdinalIgnoreCase)) is { } home
                    ? $" (a {home._path} field: put it under {home._path})"
                    : $"; the fields {(_path.Length == 0 ? "of a recipe" : "here")} are {string.Join(", ", _known)}";
            }
            Errors.Add(key, Field(name), $"is not a known field{hint}");
        }
        foreach (var child in _children)
            child.RejectUnknownKeys();
    }

    private YamlSection Child(YamlSection child)
    {
        child._parent = this;
        _children.Add(child);
        return child;
    }
}
