using System.Text;
using UglyToad.PdfPig;
using UglyToad.PdfPig.DocumentLayoutAnalysis.TextExtractor;

namespace Forge.TextExtraction;

/// <summary>The text of a PDF (books, papers), page by page in reading order, through PdfPig.</summary>
public static class PdfText
{
    /// <exception cref="InvalidDataException">the bytes are not a readable PDF.</exception>
    public static string Extract(Stream pdf)
    {
        try
        {
            using var document = PdfDocument.Open(pdf);
            var text = new StringBuilder();
            foreach (var page in document.GetPages())
            {
                text.Append(ContentOrderTextExtractor.GetText(page).Trim());
                text.Append("\n\n");
            }
            return text.ToString().Trim();
        }
        catch (Exception e) when (e is not OutOfMemoryException and not OperationCanceledException)
        {
            throw new InvalidDataException($"Not a readable PDF: {e.Message}", e);
        }
    }
}
