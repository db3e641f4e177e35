using System.CommandLine;
using System.Text.Json;
using Forge.Cli;
using Forge.Testing;

namespace Forge.Evaluator.Tests;

public sealed class EvalCommandTests : IDisposable
{
    private readonly TemporaryFolder _folder = new("eval-cli");

    public void Dispose() => _folder.Dispose();

    private string WriteLines(string name, params string[] lines)
    {
        var path = Path.Combine(_folder.Path, name);
        File.WriteAllText(path, string.Join('\n', lines) + "\n");
        return path;
    }

    private static async Task<(int ExitCode, string Output, string Error)> RunAsync(params string[] args)
    {
        var root = new RootCommand("forge");
        root.Subcommands.Add(EvalCommand.Create());
        using var output = new StringWriter();
        using var error = new StringWriter();
        var exitCode = await root.Parse(args).InvokeAsync(new InvocationConfiguration { Output = output, Error = error });
        return (exitCode, output.ToString(), error.ToString());
    }

    private (string Hypotheses, string First, string Second) ReadmeFiles() =>
        (WriteLines("hyp.txt", SacrebleuReadme.Hypotheses), WriteLines("ref1.txt", SacrebleuReadme.References[0]), WriteLines("ref2.txt", SacrebleuReadme.References[1]));

    [Fact]
    public async Task BleuPrintsSacrebleusReadmeScoreAsJson()
    {
        var (hypotheses, first, second) = ReadmeFiles();

        var (exitCode, output, error) = await RunAsync("eval", "bleu", "--hyp", hypotheses, "--ref", first, "--ref", second);

        Assert.Equal(0, exitCode);
        Assert.Empty(error);
        var bleu = JsonDocument.Parse(output).RootElement;
        Assert.Equal(48.530827, bleu.GetProperty("score").GetDouble(), 1e-6);
        Assert.Equal(17, bleu.GetProperty("systemLength").GetInt32());
        Assert.Equal(18, bleu.GetProperty("referenceLength").GetInt32());
    }

    [Fact]
    public async Task BleuOptionsChangeTheScore()
    {
        var hypotheses = WriteLines("hyp.txt", "THE DOG BIT THE MAN .");
        var reference = WriteLines("ref.txt", "the dog bit the man .");

        var cased = JsonDocument.Parse((await RunAsync("eval", "bleu", "--hyp", hypotheses, "--ref", reference, "--tokenize", "none")).Output).RootElement;
        var lowercased = JsonDocument.Parse((await RunAsync("eval", "bleu", "--hyp", hypotheses, "--ref", reference, "--tokenize", "none", "--lowercase")).Output).RootElement;

        // Cased, only the "." matches.
        Assert.Equal(1, cased.GetProperty("counts")[0].GetInt32());
        Assert.Equal(100.0, lowercased.GetProperty("score").GetDouble(), 1e-9);
    }

    [Fact]
    public async Task ChrFWithWordOrderTwoPrintsChrFPlusPlus()
    {
        var (hypotheses, first, second) = ReadmeFiles();

        var chrF = JsonDocument.Parse((await RunAsync("eval", "chrf", "--hyp", hypotheses, "--ref", first, "--ref", second)).Output).RootElement;
        var chrFPlusPlus = JsonDocument.Parse((await RunAsync("eval", "chrf", "--hyp", hypotheses, "--ref", first, "--ref", second, "--word-order", "2")).Output).RootElement;

        Assert.Equal(59.73, chrF.GetProperty("score").GetDouble(), 2);
        Assert.Equal("chrF2", chrF.GetProperty("name").GetString());
        Assert.Equal("chrF2++", chrFPlusPlus.GetProperty("name").GetString());
    }

    [Fact]
    public async Task RougePrintsTheMeanOfTheRequestedTypes()
    {
        var hypotheses = WriteLines("hyp.txt", "the cats were running", "a dog");
        var reference = WriteLines("ref.txt", "the cat was running", "a dog");

        var (exitCode, output, _) = await RunAsync("eval", "rouge", "--hyp", hypotheses, "--ref", reference, "--types", "rouge1,rougeL", "--stem");

        Assert.Equal(0, exitCode);
        var rouge = JsonDocument.Parse(output).RootElement;
        Assert.True(rouge.GetProperty("useStemmer").GetBoolean());
        Assert.Equal(["rouge1", "rougeL"], rouge.GetProperty("mean").EnumerateObject().Select(p => p.Name));
        // Stemmed, "cats"/"cat" and "running" match but "were"/"was" do not: 3 of 4 each way in segment 1, all in segment 2.
        Assert.Equal((0.75 + 1.0) / 2, rouge.GetProperty("mean").GetProperty("rouge1").GetProperty("fMeasure").GetDouble(), 1e-12);
    }

    [Fact]
    public async Task MismatchedLineCountsExitNonZeroNamingTheFiles()
    {
        var hypotheses = WriteLines("hyp.txt", "a", "b", "c");
        var reference = WriteLines("ref.txt", "a", "b");

        var (exitCode, output, error) = await RunAsync("eval", "bleu", "--hyp", hypotheses, "--ref", reference);

        Assert.Equal(1, exitCode);
        Assert.Empty(output);
        Assert.Contains($"{reference} has 2 lines but {hypotheses} has 3", error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("bleu")]
    [InlineData("chrf")]
    [InlineData("rouge")]
    public async Task AMissingFileExitsNonZeroNamingIt(string metric)
    {
        var hypotheses = WriteLines("hyp.txt", "a");
        var missing = Path.Combine(_folder.Path, "missing.txt");

        var (exitCode, _, error) = await RunAsync("eval", metric, "--hyp", hypotheses, "--ref", missing);

        Assert.Equal(1, exitCode);
        Assert.Contains($"no such file: {missing}", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ALineWithoutAnyReferenceExitsNonZero()
    {
        var hypotheses = WriteLines("hyp.txt", "a", "b");
        var reference = WriteLines("ref.txt", "a", "");

        var (exitCode, _, error) = await RunAsync("eval", "chrf", "--hyp", hypotheses, "--ref", reference);

        Assert.Equal(1, exitCode);
        Assert.Contains("line 2 has no non-empty reference", error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("bleu", "--tokenize", "intl")]
    [InlineData("rouge", "--types", "rouge1,rougeX")]
    [InlineData("chrf", "--word-order", "-1")]
    [InlineData("chrf", "--char-order", "0")]
    public async Task AnInvalidOptionExitsNonZero(string metric, string option, string value)
    {
        var hypotheses = WriteLines("hyp.txt", "a");
        var reference = WriteLines("ref.txt", "a");

        var (exitCode, output, error) = await RunAsync("eval", metric, "--hyp", hypotheses, "--ref", reference, option, value);

        Assert.NotEqual(0, exitCode);
        Assert.DoesNotContain("\"score\"", output, StringComparison.Ordinal);
        Assert.NotEmpty(error);
    }

    [Fact]
    public async Task WithoutReferencesTheCommandExitsNonZero()
    {
        var (exitCode, _, error) = await RunAsync("eval", "bleu", "--hyp", WriteLines("hyp.txt", "a"));

        Assert.NotEqual(0, exitCode);
        Assert.Contains("--ref", error, StringComparison.Ordinal);
    }
}
