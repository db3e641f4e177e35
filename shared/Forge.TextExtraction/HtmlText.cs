using System.Text;
using AngleSharp.Dom;
using AngleSharp.Html.Parser;
using SmartReader;

namespace Forge.TextExtraction;

/// <summary>
/// The readable text of a web page. SmartReader (a port of Mozilla's Readability) finds the main content; when
/// it cannot, the page is parsed with AngleSharp and everything that is not content (script, style, navigation,
/// header, footer, asides, forms) is removed before the text is taken, one block element per line.
/// </summary>
public static class HtmlText
{
    private static readonly string[] Boilerplate = ["script", "style", "noscript", "template", "nav", "header", "footer", "aside", "form", "iframe", "svg", "button", "select"];

    private static readonly HashSet<string> BlockElements = new(StringComparer.OrdinalIgnoreCase)
    {
        "p", "div", "section", "article", "main", "li", "ul", "ol", "h1", "h2", "h3", "h4", "h5", "h6", "pre", "blockquote",
        "tr", "table", "br", "hr", "dd", "dt", "dl", "figcaption", "address",
    };

    /// <summary>True when the text looks like an HTML document or fragment rather than prose that mentions a tag.</summary>
    public static bool LooksLikeHtml(ReadOnlySpan<char> text)
    {
        var head = text[..Math.Min(text.Length, 2048)];
        return head.Contains("<html", StringComparison.OrdinalIgnoreCase)
            || head.Contains("<!doctype html", StringComparison.OrdinalIgnoreCase)
            || head.Contains("<body", StringComparison.OrdinalIgnoreCase)
            || (head.Contains("</p>", StringComparison.OrdinalIgnoreCase) && head.Contains("<p", StringComparison.OrdinalIgnoreCase))
            || (head.Contains("</div>", StringComparison.OrdinalIgnoreCase) && head.Contains("<div", StringComparison.OrdinalIgnoreCase));
    }

    public static string Extract(string html, string? address = null)
    {
        var uri = address ?? "https://localhost/document.html";
        try
        {
            var reader = new Reader(uri, html) { Debug = false };
            var article = reader.GetArticle();
            if (article.IsReadable && !string.IsNullOrWhiteSpace(article.TextContent))
                return article.TextContent.Trim();
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException or FormatException or NullReferenceException)
        {
            // Readability gives up on some fragments; the structural fallback below still works for them.
        }
        return StructuralText(html);
    }

    private static string StructuralText(string html)
    {
        using var document = new HtmlParser().ParseDocument(html);
        foreach (var selector in Boilerplate)
        {
            foreach (var element in document.QuerySelectorAll(selector).ToList())
                element.Remove();
        }
        var output = new StringBuilder();
        Append(document.Body ?? (INode)document.DocumentElement, output);
        return output.ToString().Trim();
    }

    private static void Append(INode node, StringBuilder output)
    {
        foreach (var child in node.ChildNodes)
        {
            switch (child)
            {
                case IText text:
                    output.Append(text.Data);
                    break;
                case IElement element:
                    var block = BlockElements.Contains(element.LocalName);
                    if (block)
                        output.Append('\n');
                    Append(element, output);
                    if (block)
                        output.Append('\n');
                    break;
            }
        }
    }
}
