using Forge.Metrics;

namespace Forge.Evaluator.Domain;

/// <summary>What is wrong with a request: the field as a JSON path (<c>$.references[1]</c>) or the line, and why.</summary>
public sealed record FieldError(string Field, string Message);

/// <summary>Checked input for a corpus metric: one hypothesis per segment, and reference sets parallel to them.</summary>
public sealed record Segments(IReadOnlyList<string> Hypotheses, IReadOnlyList<IReadOnlyList<string>> ReferenceSets);

/// <summary>
/// The body every metric endpoint shares: system outputs and sacrebleu's reference layout, one or more reference sets
/// each parallel to the hypotheses (an empty string is a missing reference), plus the metric's own options.
/// </summary>
public abstract record MetricRequest<TOptions> where TOptions : class
{
    public List<string?>? Hypotheses { get; init; }

    public List<List<string?>?>? References { get; init; }

    /// <summary>The checked segments and options, or the first thing wrong with the request.</summary>
    public (Segments? Segments, TOptions? Options, FieldError? Error) Validate()
    {
        if (CheckSegments() is { } segmentError)
            return (null, null, segmentError);
        var (options, optionsError) = Options();
        if (optionsError is not null)
            return (null, null, optionsError);
        var referenceSets = References!.Select(set => (IReadOnlyList<string>)set!.Select(r => r!).ToList()).ToList();
        return (new Segments(Hypotheses!.Select(h => h!).ToList(), referenceSets), options, null);
    }

    protected abstract (TOptions? Options, FieldError? Error) Options();

    private FieldError? CheckSegments()
    {
        if (Hypotheses is null)
            return new("$.hypotheses", "is required: an array of strings, one per segment");
        if (Hypotheses.Count == 0)
            return new("$.hypotheses", "is empty: send one string per segment");
        if (Hypotheses.IndexOf(null) is var nullHypothesis and >= 0)
            return new($"$.hypotheses[{nullHypothesis}]", "is null: send a string (\"\" for an empty output)");
        if (References is null)
            return new("$.references", "is required: an array of reference sets, each an array of strings parallel to $.hypotheses");
        if (References.Count == 0)
            return new("$.references", "is empty: send at least one reference set");
        for (var set = 0; set < References.Count; set++)
        {
            if (References[set] is not { } references)
                return new($"$.references[{set}]", "is null: send an array of strings parallel to $.hypotheses");
            if (references.Count != Hypotheses.Count)
                return new($"$.references[{set}]", $"has {references.Count} segments for {Hypotheses.Count} hypotheses");
            if (references.IndexOf(null) is var nullReference and >= 0)
                return new($"$.references[{set}][{nullReference}]", "is null: send a string (\"\" for a missing reference)");
        }
        for (var segment = 0; segment < Hypotheses.Count; segment++)
        {
            if (References.All(set => string.IsNullOrEmpty(set![segment])))
                return new("$.references", $"segment {segment} has no non-empty reference in any set");
        }
        return null;
    }
}

/// <summary>BLEU options by sacrebleu's names: <c>tokenize</c>, <c>smooth_method</c>, <c>smooth_value</c>, <c>max_ngram_order</c>, <c>effective_order</c>.</summary>
public sealed record BleuRequest : MetricRequest<BleuOptions>
{
    public bool Lowercase { get; init; }

    /// <summary>"13a" (the default) or "none".</summary>
    public string? Tokenize { get; init; }

    /// <summary>"exp" (the default), "floor", "add-k" or "none".</summary>
    public string? Smooth { get; init; }

    public double? SmoothValue { get; init; }

    public int? MaxNgramOrder { get; init; }

    public bool? EffectiveOrder { get; init; }

    protected override (BleuOptions? Options, FieldError? Error) Options()
    {
        var tokenizer = BleuTokenizer.ThirteenA;
        if (Tokenize is not null)
        {
            if (MetricOptionNames.Tokenizer(Tokenize) is not { } named)
                return (null, new("$.tokenize", $"must be one of {MetricOptionNames.List(MetricOptionNames.Tokenizers)}"));
            tokenizer = named;
        }
        var smoothing = BleuSmoothing.Exp;
        if (Smooth is not null)
        {
            if (MetricOptionNames.Smoothing(Smooth) is not { } method)
                return (null, new("$.smooth", $"must be one of {MetricOptionNames.List(MetricOptionNames.Smoothings)}"));
            smoothing = method;
        }
        if (SmoothValue is { } value && (!double.IsFinite(value) || value < 0))
            return (null, new("$.smoothValue", "must be a finite number of at least 0"));
        if (MaxNgramOrder is < 1 or > 10)
            return (null, new("$.maxNgramOrder", "must be from 1 to 10"));
        return (new BleuOptions
        {
            Lowercase = Lowercase,
            Tokenizer = tokenizer,
            Smoothing = smoothing,
            SmoothValue = SmoothValue,
            MaxNgramOrder = MaxNgramOrder ?? BleuOptions.Default.MaxNgramOrder,
            EffectiveOrder = EffectiveOrder,
        }, null);
    }
}

/// <summary>chrF options by sacrebleu's names: <c>char_order</c>, <c>word_order</c> (2 for chrF++), <c>beta</c>, <c>whitespace</c>, <c>eps_smoothing</c>.</summary>
public sealed record ChrFRequest : MetricRequest<ChrFOptions>
{
    public int? CharOrder { get; init; }

    public int? WordOrder { get; init; }

    public int? Beta { get; init; }

    public bool Lowercase { get; init; }

    public bool Whitespace { get; init; }

    public bool EpsSmoothing { get; init; }

    protected override (ChrFOptions? Options, FieldError? Error) Options()
    {
        var options = new ChrFOptions
        {
            CharOrder = CharOrder ?? ChrFOptions.Default.CharOrder,
            WordOrder = WordOrder ?? ChrFOptions.Default.WordOrder,
            Beta = Beta ?? ChrFOptions.Default.Beta,
            Lowercase = Lowercase,
            IncludeWhitespace = Whitespace,
            EpsilonSmoothing = EpsSmoothing,
        };
        if (options.CharOrder is < 0 or > 20)
            return (null, new("$.charOrder", "must be from 0 to 20"));
        if (options.WordOrder is < 0 or > 20)
            return (null, new("$.wordOrder", "must be from 0 to 20"));
        if (options.CharOrder + options.WordOrder == 0)
            return (null, new("$.charOrder", "and $.wordOrder cannot both be 0"));
        if (options.Beta < 0)
            return (null, new("$.beta", "must be at least 0"));
        return (options, null);
    }
}

/// <summary>ROUGE options by rouge-score's names: <c>rouge_types</c> and <c>use_stemmer</c>.</summary>
public sealed record RougeRequest : MetricRequest<RougeOptions>
{
    /// <summary>rouge1 to rouge9, rougeL, rougeLsum; all four of rouge1, rouge2, rougeL and rougeLsum when absent.</summary>
    public List<string?>? Types { get; init; }

    public bool UseStemmer { get; init; }

    protected override (RougeOptions? Options, FieldError? Error) Options()
    {
        if (Types is null)
            return (new RougeOptions { UseStemmer = UseStemmer }, null);
        if (MetricOptionNames.CheckRougeTypes(Types) is { } problem)
            return (null, new(problem.Index is { } index ? $"$.types[{index}]" : "$.types", problem.Message));
        return (new RougeOptions { Types = Types.Select(t => t!).ToList(), UseStemmer = UseStemmer }, null);
    }
}
