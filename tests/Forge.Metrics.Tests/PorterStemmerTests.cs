using Forge.Metrics;

namespace Forge.Metrics.Tests;

public sealed class PorterStemmerTests
{
    [Fact]
    public void PluralsStemAsInNltksDoctest()
    {
        // nltk/test/stem.doctest.
        string[] plurals =
        [
            "caresses", "flies", "dies", "mules", "denied", "died", "agreed", "owned", "humbled", "sized",
            "meeting", "stating", "siezing", "itemization", "sensational", "traditional", "reference",
            "colonizer", "plotted",
        ];

        Assert.Equal(
            "caress fli die mule deni die agre own humbl size meet state siez item sensat tradit refer colon plot",
            string.Join(' ', plurals.Select(PorterStemmer.Stem)));
    }

    [Fact]
    public void OedStemsWithoutFailing()
    {
        // nltk/test/unit/test_stem.py, test_oed_bug (NLTK issue 1581).
        Assert.Equal("o", PorterStemmer.Stem("oed"));
    }

    [Theory]
    [InlineData("sky", "sky")]
    [InlineData("skies", "sky")]
    [InlineData("dying", "die")]
    [InlineData("lying", "lie")]
    [InlineData("tying", "tie")]
    [InlineData("news", "news")]
    [InlineData("innings", "inning")]
    [InlineData("inning", "inning")]
    [InlineData("outings", "outing")]
    [InlineData("outing", "outing")]
    [InlineData("cannings", "canning")]
    [InlineData("canning", "canning")]
    [InlineData("howe", "howe")]
    [InlineData("proceed", "proceed")]
    [InlineData("exceed", "exceed")]
    [InlineData("succeed", "succeed")]
    public void IrregularFormsBypassTheAlgorithm(string word, string stem)
    {
        // NLTK's irregular_forms table, in porter.py.
        Assert.Equal(stem, PorterStemmer.Stem(word));
    }

    [Fact]
    public void EveryStepMatchesNltkOnThePapersExamples()
    {
        // The examples of each step in Porter's paper (quoted in NLTK's docstrings) plus the NLTK
        // extensions; the stems are what NLTK 3.8's PorterStemmer() returns for them.
        string[] words =
        [
            "caresses", "ponies", "ties", "caress", "cats", "feed", "agreed", "plastered", "bled", "motoring",
            "sing", "conflated", "troubled", "sized", "hopping", "tanned", "falling", "hissing", "fizzed",
            "failing", "filing", "happy", "sky", "enjoy", "relational", "conditional", "rational", "valenci",
            "hesitanci", "digitizer", "conformabli", "radicalli", "differentli", "vileli", "analogousli",
            "vietnamization", "predication", "operator", "feudalism", "decisiveness", "hopefulness",
            "callousness", "formaliti", "sensitiviti", "sensibiliti", "triplicate", "formative", "formalize",
            "electriciti", "electrical", "hopeful", "goodness", "revival", "allowance", "inference",
            "airliner", "gyroscopic", "adjustable", "defensible", "irritant", "replacement", "adjustment",
            "dependent", "adoption", "homologou", "communism", "activate", "angulariti", "homologous",
            "effective", "bowdlerize", "probate", "rate", "cease", "controll", "roll", "generously",
            "running", "spied", "died", "flies", "dies", "fully", "geology", "theology", "by", "is",
        ];
        const string nltkStems =
            "caress poni tie caress cat feed agre plaster bled motor sing conflat troubl size hop tan fall " +
            "hiss fizz fail file happi sky enjoy relat condit ration valenc hesit digit conform radic differ " +
            "vile analog vietnam predic oper feudal decis hope callous formal sensit sensibl triplic form " +
            "formal electr electr hope good reviv allow infer airlin gyroscop adjust defens irrit replac " +
            "adjust depend adopt homolog commun activ angular homolog effect bowdler probat rate ceas control " +
            "roll gener run spi die fli die fulli geolog theolog by is";

        Assert.Equal(nltkStems.Split(' '), words.Select(PorterStemmer.Stem));
    }

    [Fact]
    public void WordsAreLowercasedBeforeStemming()
    {
        // NLTK lowercases first but looks irregular forms up before, so "SKIES" is stemmed regularly.
        Assert.Equal("run", PorterStemmer.Stem("Running"));
        Assert.Equal("ski", PorterStemmer.Stem("SKIES"));
    }
}
