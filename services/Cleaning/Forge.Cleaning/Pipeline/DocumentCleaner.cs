using Forge.TextExtraction;

namespace Forge.Cleaning.Pipeline;

/// <summary>What the per-document steps made of one document: its clean text, or why it was dropped.</summary>
public sealed record CleanedText(string? Text, string? DropReason, PiiRedactor.Redaction? Redaction);

/// <summary>
/// The steps that look at one document alone, in order: mojibake repair, HTML to text, normalisation, quality
/// filters, PII redaction. Deduplication, which needs the other documents, follows in <see cref="Deduplicator"/>.
/// </summary>
public static class DocumentCleaner
{
    public const string EmptyAfterNormalisation = "empty-after-normalisation";

    public static CleanedText Clean(string text, CleaningSettings settings)
    {
        if (settings.RepairMojibake)
            text = MojibakeRepair.Repair(text);
        if (settings.ExtractHtml && HtmlText.LooksLikeHtml(text))
            text = HtmlText.Extract(text);
        text = TextNormalizer.Normalize(text);
        if (text.Length == 0)
            return new CleanedText(null, EmptyAfterNormalisation, null);
        if (settings.QualityFilters && QualityFilter.Check(text, settings) is { } reason)
            return new CleanedText(null, reason, null);
        if (!settings.RedactPii)
            return new CleanedText(text, null, null);
        var redaction = PiiRedactor.Redact(text);
        return new CleanedText(redaction.Text, null, redaction);
    }
}
