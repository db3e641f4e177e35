using Forge.Cleaning.Pipeline;

namespace Forge.Services.Tests;

public sealed class QualityFilterTests
{
    private static readonly CleaningSettings Defaults = new();

    /// <summary>Ordinary prose of a few paragraphs, the kind of text every filter must keep.</summary>
    public const string CleanProse = """
        The river rises in the hills to the north of the town and runs for about forty miles before it reaches the sea.
        For most of the year it is slow and shallow, and children wade across it in summer to reach the meadows on the far side.

        In spring, however, the snow melts on the high ground and the water comes down quickly. The old stone bridge has
        stood for three hundred years, but the wooden footbridge near the mill has been rebuilt twice since the war.
        Farmers move their sheep to higher fields when the first warnings are given, and the shops on the quay put sandbags
        against their doors.

        Local historians have collected letters and photographs that show how people lived with the floods. Many of them
        describe the same streets and the same families, and they give a vivid picture of a community that learned to
        accept the river as part of its life.
        """;

    [Fact]
    public void CleanProsePassesEveryFilter()
    {
        Assert.Null(QualityFilter.Check(TextNormalizer.Normalize(CleanProse), Defaults));
    }

    [Fact]
    public void ATextWithTooFewWordsIsDropped()
    {
        Assert.Equal(QualityFilter.TooFewWords, QualityFilter.Check("The cat sat on the mat with the dog.", Defaults));
    }

    [Fact]
    public void ATextWithTooManyWordsIsDropped()
    {
        Assert.Equal(QualityFilter.TooManyWords, QualityFilter.Check(CleanProse, Defaults with { MaxWords = 100 }));
    }

    [Fact]
    public void VeryShortOrVeryLongWordsAreDropped()
    {
        var shortWords = string.Join(' ', Enumerable.Range(0, 80).Select(i => i % 4 == 0 ? "the" : i % 4 == 1 ? "a" : i % 4 == 2 ? "of" : "an"));
        var longWords = string.Join(' ', Enumerable.Range(0, 80).Select(i => i % 10 == 0 ? "the" : i % 10 == 1 ? "and" : "electroencephalographically"));

        Assert.Equal(QualityFilter.ShortWords, QualityFilter.Check(shortWords, Defaults));
        Assert.Equal(QualityFilter.LongWords, QualityFilter.Check(longWords, Defaults));
    }

    [Fact]
    public void ManyHashesOrEllipsesPerWordAreDropped()
    {
        var hashtags = CleanProse + string.Concat(Enumerable.Repeat(" #tag", 40));
        var ellipses = CleanProse + string.Concat(Enumerable.Repeat(" and so on...", 40));

        Assert.Equal(QualityFilter.SymbolRatio, QualityFilter.Check(TextNormalizer.Normalize(hashtags), Defaults));
        Assert.Equal(QualityFilter.SymbolRatio, QualityFilter.Check(TextNormalizer.Normalize(ellipses), Defaults));
    }

    [Fact]
    public void AListOfBulletsIsDropped()
    {
        var bullets = string.Join('\n', Enumerable.Range(0, 30).Select(i => $"- item number {i} with the thing and the other {i * 7}"));

        Assert.Equal(QualityFilter.BulletLines, QualityFilter.Check(bullets, Defaults));
    }

    [Fact]
    public void LinesTrailingOffInEllipsesAreDropped()
    {
        var teasers = string.Join('\n', Enumerable.Range(0, 12).Select(i => $"Story {i}: the mayor of the town said that the river would be cleaned and the bridge{i}…"));

        Assert.Equal(QualityFilter.EllipsisLines, QualityFilter.Check(teasers, Defaults with { MaxSymbolWordRatio = 1 }));
    }

    [Fact]
    public void TextMostlyWithoutLettersIsDropped()
    {
        var numbers = "The table of the results and the totals: " + string.Join(' ', Enumerable.Range(1000, 80).Select(i => i.ToString(System.Globalization.CultureInfo.InvariantCulture)));

        Assert.Equal(QualityFilter.AlphabeticShare, QualityFilter.Check(numbers, Defaults));
    }

    [Fact]
    public void TextWithoutEnglishStopWordsIsDropped()
    {
        var keywords = string.Join(' ', Enumerable.Range(0, 60).Select(i => $"keyword{i % 17}x cheap{i % 13} offer"));

        Assert.Equal(QualityFilter.StopWords, QualityFilter.Check(keywords, Defaults with { MaxDuplicateNGramCharShare = [1, 1, 1, 1, 1, 1], MaxTopNGramCharShare = [1, 1, 1] }));
    }

    [Fact]
    public void RepeatedLinesAndParagraphsAreDropped()
    {
        var paragraph = "Click here to subscribe to the newsletter and get the latest offers from the shop.";
        var repeatedParagraphs = CleanProse + "\n\n" + string.Join("\n\n", Enumerable.Repeat(paragraph, 8));
        var repeatedLines = string.Join('\n', Enumerable.Repeat("Home | About the shop | Contact the team", 10)) + "\n" + CleanProse;

        Assert.Equal(QualityFilter.RepeatedParagraphs, QualityFilter.Check(TextNormalizer.Normalize(repeatedParagraphs), Defaults));
        Assert.Equal(QualityFilter.RepeatedLines, QualityFilter.Check(TextNormalizer.Normalize(repeatedLines), Defaults));
    }

    [Fact]
    public void RepeatedCharactersInDuplicateLinesAreDropped()
    {
        var longLine = "This very long line about the river and the town and the bridge and the mill is repeated.";
        var text = CleanProse.Replace("\n\n", "\n", StringComparison.Ordinal) + "\n" + string.Join('\n', Enumerable.Repeat(longLine, 4));

        Assert.Equal(QualityFilter.RepeatedLineChars, QualityFilter.Check(TextNormalizer.Normalize(text), Defaults with { MaxDuplicateLineShare = 1 }));
    }

    [Fact]
    public void ADominantBigramIsDropped()
    {
        var spam = string.Join(' ', Enumerable.Repeat("buy now", 60)) + " and the offer of the day with the best prices";

        Assert.Equal(QualityFilter.TopNGram(2), QualityFilter.Check(spam, Defaults with { MaxDuplicateLineShare = 1, MaxDuplicateLineCharShare = 1 }));
    }

    [Fact]
    public void RepeatedLongNGramsAreDropped()
    {
        var sentence = "the committee approved the new budget for the school and the library on monday ";
        var text = CleanProse + " " + string.Concat(Enumerable.Repeat(sentence, 4));
        var lenient = Defaults with { MaxTopNGramCharShare = [1, 1, 1] };

        Assert.Equal(QualityFilter.DuplicateNGrams(5), QualityFilter.Check(TextNormalizer.Normalize(text), lenient));
    }

    [Fact]
    public void SettingsOutsideTheirRangeNameTheField()
    {
        Assert.Equal("maxWords", (Defaults with { MinWords = 10, MaxWords = 5 }).Validate()!.Value.Field);
        Assert.Equal("nearDuplicateJaccard", (Defaults with { NearDuplicateJaccard = 1.5 }).Validate()!.Value.Field);
        Assert.Equal("maxTopNGramCharShare", (Defaults with { MaxTopNGramCharShare = [0.1] }).Validate()!.Value.Field);
        Assert.Null(Defaults.Validate());
    }
}
