namespace Forge.Metrics;

/// <summary>
/// The Porter stemmer as NLTK's <c>PorterStemmer()</c> runs it by default (mode NLTK_EXTENSIONS),
/// which is what rouge-score's <c>use_stemmer=True</c> uses. Words are indexed by UTF-16 unit, which
/// equals NLTK's indexing for every word outside the astral planes.
/// </summary>
public static class PorterStemmer
{
    // NLTK's irregular forms, mapped straight to their stems past the algorithm.
    private static readonly Dictionary<string, string> IrregularForms = new(StringComparer.Ordinal)
    {
        ["sky"] = "sky",
        ["skies"] = "sky",
        ["dying"] = "die",
        ["lying"] = "lie",
        ["tying"] = "tie",
        ["news"] = "news",
        ["innings"] = "inning",
        ["inning"] = "inning",
        ["outings"] = "outing",
        ["outing"] = "outing",
        ["cannings"] = "canning",
        ["canning"] = "canning",
        ["howe"] = "howe",
        ["proceed"] = "proceed",
        ["exceed"] = "exceed",
        ["succeed"] = "succeed",
    };

    private static readonly Rule[] Step1aRules =
    [
        new("sses", "ss"),
        new("ies", "i"),
        new("ss", "ss"),
        new("s", ""),
    ];

    // NLTK's (*c and not c) Y -> I: 'happy' -> 'happi' but 'enjoy' stays and 'by' is too short.
    private static readonly Rule[] Step1cRules =
    [
        new("y", "i", stem => stem.Length > 1 && IsConsonant(stem, stem.Length - 1)),
    ];

    private static readonly Rule[] Step2Rules =
    [
        new("ational", "ate", HasPositiveMeasure),
        new("tional", "tion", HasPositiveMeasure),
        new("enci", "ence", HasPositiveMeasure),
        new("anci", "ance", HasPositiveMeasure),
        new("izer", "ize", HasPositiveMeasure),
        new("bli", "ble", HasPositiveMeasure),
        new("alli", "al", HasPositiveMeasure),
        new("entli", "ent", HasPositiveMeasure),
        new("eli", "e", HasPositiveMeasure),
        new("ousli", "ous", HasPositiveMeasure),
        new("ization", "ize", HasPositiveMeasure),
        new("ation", "ate", HasPositiveMeasure),
        new("ator", "ate", HasPositiveMeasure),
        new("alism", "al", HasPositiveMeasure),
        new("iveness", "ive", HasPositiveMeasure),
        new("fulness", "ful", HasPositiveMeasure),
        new("ousness", "ous", HasPositiveMeasure),
        new("aliti", "al", HasPositiveMeasure),
        new("iviti", "ive", HasPositiveMeasure),
        new("biliti", "ble", HasPositiveMeasure),
        new("fulli", "ful", HasPositiveMeasure),
        // The 'l' of 'logi' counts towards the stem, so short stems like 'geo' and 'theo' qualify.
        new("logi", "log", stem => HasPositiveMeasure(stem + "l")),
    ];

    private static readonly Rule[] Step3Rules =
    [
        new("icate", "ic", HasPositiveMeasure),
        new("ative", "", HasPositiveMeasure),
        new("alize", "al", HasPositiveMeasure),
        new("iciti", "ic", HasPositiveMeasure),
        new("ical", "ic", HasPositiveMeasure),
        new("ful", "", HasPositiveMeasure),
        new("ness", "", HasPositiveMeasure),
    ];

    private static readonly Rule[] Step4Rules =
    [
        new("al", "", MeasureAboveOne),
        new("ance", "", MeasureAboveOne),
        new("ence", "", MeasureAboveOne),
        new("er", "", MeasureAboveOne),
        new("ic", "", MeasureAboveOne),
        new("able", "", MeasureAboveOne),
        new("ible", "", MeasureAboveOne),
        new("ant", "", MeasureAboveOne),
        new("ement", "", MeasureAboveOne),
        new("ment", "", MeasureAboveOne),
        new("ent", "", MeasureAboveOne),
        new("ion", "", stem => MeasureAboveOne(stem) && stem[^1] is 's' or 't'),
        new("ou", "", MeasureAboveOne),
        new("ism", "", MeasureAboveOne),
        new("ate", "", MeasureAboveOne),
        new("iti", "", MeasureAboveOne),
        new("ous", "", MeasureAboveOne),
        new("ive", "", MeasureAboveOne),
        new("ize", "", MeasureAboveOne),
    ];

    private static readonly Rule[] Step5bRules =
    [
        new("ll", "l", stem => Measure(stem + "l") > 1),
    ];

    /// <summary>Stems one word, lowercasing it first as NLTK does.</summary>
    public static string Stem(string word)
    {
        ArgumentNullException.ThrowIfNull(word);
        if (IrregularForms.TryGetValue(word, out var irregular))
            return irregular;

        var stem = PythonText.Lower(word);
        // Words of one or two letters are left alone, though the published algorithm does not say so.
        if (word.Length <= 2)
            return stem;

        stem = Step1a(stem);
        stem = Step1b(stem);
        stem = ApplyFirstMatching(stem, Step1cRules);
        stem = Step2(stem);
        stem = ApplyFirstMatching(stem, Step3Rules);
        stem = ApplyFirstMatching(stem, Step4Rules);
        stem = Step5a(stem);
        return ApplyFirstMatching(stem, Step5bRules);
    }

    private static string Step1a(string word)
    {
        // NLTK: 'dies' -> 'die' where the published rule would give 'di'.
        if (word.Length == 4 && word.EndsWith("ies", StringComparison.Ordinal))
            return word[..^3] + "ie";
        return ApplyFirstMatching(word, Step1aRules);
    }

    private static string Step1b(string word)
    {
        // NLTK: 'died' -> 'die' and 'spied' -> 'spi'.
        if (word.EndsWith("ied", StringComparison.Ordinal))
            return word[..^3] + (word.Length == 4 ? "ie" : "i");

        if (word.EndsWith("eed", StringComparison.Ordinal))
            return Measure(word[..^3]) > 0 ? word[..^1] : word;

        string stem;
        if (word.EndsWith("ed", StringComparison.Ordinal) && ContainsVowel(word[..^2]))
            stem = word[..^2];
        else if (word.EndsWith("ing", StringComparison.Ordinal) && ContainsVowel(word[..^3]))
            stem = word[..^3];
        else
            return word;

        if (stem.EndsWith("at", StringComparison.Ordinal)
            || stem.EndsWith("bl", StringComparison.Ordinal)
            || stem.EndsWith("iz", StringComparison.Ordinal))
        {
            return stem + "e";
        }

        // A double consonant loses one letter unless it is l, s or z; either way no rule after it applies.
        if (EndsWithDoubleConsonant(stem))
            return stem[^1] is 'l' or 's' or 'z' ? stem : stem[..^1];

        return Measure(stem) == 1 && EndsConsonantVowelConsonant(stem) ? stem + "e" : stem;
    }

    private static string Step2(string word)
    {
        // NLTK applies ALLI -> AL ahead of the other rules and runs step 2 again on the result.
        if (word.EndsWith("alli", StringComparison.Ordinal) && HasPositiveMeasure(word[..^4]))
            return Step2(word[..^4] + "al");
        return ApplyFirstMatching(word, Step2Rules);
    }

    // Unlike the other steps, a failed (m>1) E rule falls through to the (m=1 and not *o) E rule.
    private static string Step5a(string word)
    {
        if (!word.EndsWith('e'))
            return word;
        var stem = word[..^1];
        var measure = Measure(stem);
        if (measure > 1 || (measure == 1 && !EndsConsonantVowelConsonant(stem)))
            return stem;
        return word;
    }

    // The first rule whose suffix matches decides: its condition failing leaves the word unchanged.
    private static string ApplyFirstMatching(string word, Rule[] rules)
    {
        foreach (var rule in rules)
        {
            if (!word.EndsWith(rule.Suffix, StringComparison.Ordinal))
                continue;
            var stem = word[..^rule.Suffix.Length];
            return rule.Condition is null || rule.Condition(stem) ? stem + rule.Replacement : word;
        }
        return word;
    }

    // A consonant is a letter other than a, e, i, o, u, and other than a y preceded by a consonant.
    private static bool IsConsonant(char letter, int index, bool previousIsConsonant) => letter switch
    {
        'a' or 'e' or 'i' or 'o' or 'u' => false,
        'y' => index == 0 || !previousIsConsonant,
        _ => true,
    };

    private static bool IsConsonant(string word, int index)
    {
        var consonant = false;
        for (var i = 0; i <= index; i++)
            consonant = IsConsonant(word[i], i, consonant);
        return consonant;
    }

    // m in [C](VC){m}[V]: the number of vowel-to-consonant transitions.
    private static int Measure(string stem)
    {
        var measure = 0;
        var consonant = false;
        for (var i = 0; i < stem.Length; i++)
        {
            var previousIsConsonant = consonant;
            consonant = IsConsonant(stem[i], i, previousIsConsonant);
            if (consonant && i > 0 && !previousIsConsonant)
                measure++;
        }
        return measure;
    }

    private static bool HasPositiveMeasure(string stem) => Measure(stem) > 0;

    private static bool MeasureAboveOne(string stem) => Measure(stem) > 1;

    private static bool ContainsVowel(string stem)
    {
        var consonant = false;
        for (var i = 0; i < stem.Length; i++)
        {
            consonant = IsConsonant(stem[i], i, consonant);
            if (!consonant)
                return true;
        }
        return false;
    }

    private static bool EndsWithDoubleConsonant(string word) =>
        word.Length >= 2 && word[^1] == word[^2] && IsConsonant(word, word.Length - 1);

    // *o: consonant-vowel-consonant with the last not w, x or y; NLTK also accepts a two-letter vowel-consonant word.
    private static bool EndsConsonantVowelConsonant(string word) =>
        (word.Length >= 3
            && IsConsonant(word, word.Length - 3)
            && !IsConsonant(word, word.Length - 2)
            && IsConsonant(word, word.Length - 1)
            && word[^1] is not ('w' or 'x' or 'y'))
        || (word.Length == 2 && !IsConsonant(word, 0) && IsConsonant(word, 1));

    private sealed record Rule(string Suffix, string Replacement, Func<string, bool>? Condition = null);
}
