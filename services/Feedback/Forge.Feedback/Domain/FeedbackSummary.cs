namespace Forge.Feedback.Domain;

/// <summary>One UTC day of a version's feedback: how much arrived, its mean rating and its share of thumbs up (null without any).</summary>
public sealed record DailyFeedback(DateOnly Day, int Feedback, int Ratings, double? MeanRating, int Thumbs, double? ThumbsUpRatio);

/// <summary>
/// What users said about one model version. Feedback, ByKind, thumbs, ratings and corrections count the feedback on
/// the version's own generations; Preferences counts the preferences given on them, and wins and losses count every
/// preference that involves one of its generations, on either side (a preference between two answers of the same
/// version is both a win and a loss for it).
/// </summary>
public sealed record VersionSummary(
    string ModelVersionId,
    int Feedback,
    IReadOnlyDictionary<string, int> ByKind,
    int ThumbsUp,
    int ThumbsDown,
    double? ThumbsUpRatio,
    int Ratings,
    double? MeanRating,
    int Corrections,
    int Preferences,
    int PreferenceWins,
    int PreferenceLosses,
    IReadOnlyList<DailyFeedback> Trend);

public sealed record ModelSummary(string Model, int Feedback, IReadOnlyList<VersionSummary> Versions);

public static class FeedbackSummary
{
    /// <summary>Aggregates a model's feedback per version (in ordinal order of the version ids) and per day.</summary>
    public static ModelSummary Of(string model, IReadOnlyList<FeedbackItem> feedback)
    {
        var preferences = feedback.Where(i => i.Kind == FeedbackKinds.Preference).ToList();
        var versions = feedback.Select(i => i.ModelVersionId)
            .Concat(preferences.Select(i => i.OtherModelVersionId).OfType<string>())
            .Distinct(StringComparer.Ordinal)
            .Order(StringComparer.Ordinal);
        return new ModelSummary(model, feedback.Count, versions.Select(version =>
        {
            var own = feedback.Where(i => i.ModelVersionId == version).ToList();
            var (up, down, ratings) = Counts(own);
            return new VersionSummary(
                version,
                own.Count,
                FeedbackKinds.All.ToDictionary(kind => kind, kind => own.Count(i => i.Kind == kind), StringComparer.Ordinal),
                up,
                down,
                Ratio(up, down),
                ratings.Count,
                ratings.Count == 0 ? null : ratings.Average(),
                own.Count(i => i.Kind == FeedbackKinds.Correction),
                own.Count(i => i.Kind == FeedbackKinds.Preference),
                preferences.Count(i => Winner(i) == version),
                preferences.Count(i => Loser(i) == version),
                Trend(own));
        }).ToList());
    }

    private static List<DailyFeedback> Trend(List<FeedbackItem> feedback) =>
        feedback.GroupBy(i => DateOnly.FromDateTime(i.CreatedAt))
            .OrderBy(day => day.Key)
            .Select(day =>
            {
                var (up, down, ratings) = Counts(day);
                return new DailyFeedback(day.Key, day.Count(), ratings.Count, ratings.Count == 0 ? null : ratings.Average(), up + down, Ratio(up, down));
            })
            .ToList();

    private static (int Up, int Down, List<int> Ratings) Counts(IEnumerable<FeedbackItem> feedback)
    {
        var thumbs = feedback.Where(i => i.Kind == FeedbackKinds.Thumbs).ToList();
        var ratings = feedback.Where(i => i.Kind == FeedbackKinds.Rating).Select(i => i.Rating ?? 0).ToList();
        return (thumbs.Count(i => i.Up == true), thumbs.Count(i => i.Up == false), ratings);
    }

    private static double? Ratio(int up, int down) => up + down == 0 ? null : (double)up / (up + down);

    private static string? Winner(FeedbackItem preference) =>
        preference.Preferred == PreferredAnswer.This ? preference.ModelVersionId : preference.OtherModelVersionId;

    private static string? Loser(FeedbackItem preference) =>
        preference.Preferred == PreferredAnswer.This ? preference.OtherModelVersionId : preference.ModelVersionId;
}
