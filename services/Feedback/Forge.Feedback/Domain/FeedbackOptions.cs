namespace Forge.Feedback.Domain;

/// <summary>The configuration section "Feedback": what counts as a good or bad answer, and how long to wait for a generation.</summary>
public sealed record FeedbackOptions
{
    public const string Section = "Feedback";

    /// <summary>A rating at or above this marks the answer good: an SFT example, and a true label in the unpaired export.</summary>
    public int HighRating { get; init; } = 4;

    /// <summary>A rating at or below this marks the answer bad: a false label in the unpaired export.</summary>
    public int LowRating { get; init; } = 2;

    /// <summary>
    /// How long feedback on an unknown generation waits for it to arrive. GenerationCompleted travels over the bus, so
    /// a client that got its answer from the inference service may send feedback before this service has stored it.
    /// </summary>
    public TimeSpan GenerationWait { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>Whether the feedback calls the answer good (true), bad (false), or says neither (null): thumbs, and ratings outside the neutral band.</summary>
    public bool? Label(FeedbackItem item) => item.Kind switch
    {
        FeedbackKinds.Thumbs => item.Up,
        FeedbackKinds.Rating when item.Rating >= HighRating => true,
        FeedbackKinds.Rating when item.Rating <= LowRating => false,
        _ => null,
    };

    /// <summary>Corrections and good labels give SFT examples; these are what a policy's minNewExamples counts.</summary>
    public bool MakesSftExample(FeedbackItem item) => item.Kind == FeedbackKinds.Correction || Label(item) == true;

    /// <summary>Refuses settings that would make every answer both good and bad, or none of them either.</summary>
    public FeedbackOptions Validated() =>
        HighRating is >= 1 and <= 5 && LowRating >= 0 && LowRating < HighRating && GenerationWait >= TimeSpan.Zero
            ? this
            : throw new InvalidOperationException($"{Section}: HighRating must be 1 to 5 and above LowRating and GenerationWait not negative.");
}
