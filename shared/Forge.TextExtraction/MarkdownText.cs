using Markdig;

namespace Forge.TextExtraction;

/// <summary>The text of a Markdown document, without its markup (Markdig renders it as plain text).</summary>
public static class MarkdownText
{
    private static readonly MarkdownPipeline Pipeline = new MarkdownPipelineBuilder().UseAdvancedExtensions().Build();

    public static string Extract(string markdown) => Markdown.ToPlainText(markdown, Pipeline).Trim();
}
