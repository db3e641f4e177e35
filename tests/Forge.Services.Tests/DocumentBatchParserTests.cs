using System.Text;
using Forge.Ingestion.Domain;

namespace Forge.Services.Tests;

public sealed class DocumentBatchParserTests
{
    private static (IReadOnlyList<RawDocument>? Documents, BatchError? Error) Parse(string body) =>
        DocumentBatchParser.Parse(Encoding.UTF8.GetBytes(body));

    [Fact]
    public void StringsAndTextObjectsAreDocuments()
    {
        var (documents, error) = Parse("""["plain", {"text": "with id", "id": "x1"}, {"text": "extra fields are fine", "lang": "en"}]""");

        Assert.Null(error);
        Assert.Equal([new RawDocument("plain", null), new RawDocument("with id", "x1"), new RawDocument("extra fields are fine", null)], documents);
    }

    [Theory]
    [InlineData("", 400, "body")]
    [InlineData("  \n ", 400, "body")]
    [InlineData("[\"a\",", 400, "body")]
    [InlineData("{\"text\": \"not an array\"}", 422, "$")]
    [InlineData("[]", 422, "$")]
    [InlineData("[\"ok\", 42]", 422, "$[1]")]
    [InlineData("[\"ok\", null]", 422, "$[1]")]
    [InlineData("[{\"body\": \"no text\"}]", 422, "$[0].text")]
    [InlineData("[{\"text\": 7}]", 422, "$[0].text")]
    [InlineData("[{\"text\": \"x\", \"id\": 3}]", 422, "$[0].id")]
    [InlineData("[\"\"]", 422, "$[0]")]
    public void BadBatchesNameWhatIsWrong(string body, int status, string field)
    {
        var (documents, error) = Parse(body);

        Assert.Null(documents);
        Assert.NotNull(error);
        Assert.Equal(status, error.Status);
        Assert.Equal(field, error.Field);
    }

    [Fact]
    public void MalformedJsonGivesTheLine()
    {
        var (_, error) = Parse("[\n\"a\",\n\"b\"\n\"c\"]");

        Assert.Contains("line 4", error!.Message, StringComparison.Ordinal);
    }
}
