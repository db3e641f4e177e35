using Forge.Model;
using Forge.Testing;

namespace Forge.Recipes.Tests;

/// <summary>The recipes in recipes/ name data that need not be on this machine, so they are read without path checks.</summary>
public sealed class ExampleRecipeTests
{
    private static readonly string Folder = Path.Combine(RepositoryPaths.Root, "recipes");

    public static TheoryData<string> Examples() => [.. ExampleNames()];

    private static IEnumerable<string> ExampleNames() => Directory.GetFiles(Folder, "*.yaml").Select(path => Path.GetFileName(path)).Order(StringComparer.Ordinal);

    private static Recipe Read(string name)
    {
        var result = RecipeReader.ReadFile(Path.Combine(Folder, name), checkPaths: false);
        Assert.True(result.Succeeded, $"{name}:\n" + string.Join("\n", result.Errors));
        return result.Recipe;
    }

    [Fact]
    public void TheFourExamplesAreThere() =>
        Assert.Equal(["fortunes.yaml", "minimal.yaml", "shakespeare-char.yaml", "translation-sft.yaml"], ExampleNames());

    [Theory]
    [MemberData(nameof(Examples))]
    public void AnExampleRecipeHasNoErrorsButItsMissingFiles(string name) => Read(name);

    [Fact]
    public void TheMinimalExampleIsThreeLines() =>
        Assert.Equal(3, File.ReadAllLines(Path.Combine(Folder, "minimal.yaml")).Length);

    [Fact]
    public void TheFortunesExampleReadsTheQuotesOfDebiansFortunesPackage()
    {
        var recipe = Read("fortunes.yaml");

        Assert.Equal([new DataSource("/usr/share/games/fortunes", "%")], recipe.Sources);
        Assert.Equal(("bpe", 2048), (recipe.Tokenizer.Kind, recipe.Tokenizer.VocabularySize));
        Assert.Equal((4, 4, 128, 128), (recipe.Model.Layers, recipe.Model.Heads, recipe.Model.Width, recipe.Model.ContextLength));
    }

    [Fact]
    public void TheShakespeareExampleIsNanoGptsCpuConfiguration()
    {
        var recipe = Read("shakespeare-char.yaml");

        Assert.Equal("char", recipe.Tokenizer.Kind);
        Assert.Equal(new GptConfig { VocabularySize = 0, Layers = 4, Heads = 4, Width = 128, ContextLength = 64, Dropout = 0, Bias = false }, recipe.Model);
        Assert.Equal(new TrainingConfig { BatchSize = 12, MaxSteps = 2000, DecaySteps = 2000, LearningRate = 1e-3, MinLearningRate = 1e-4, WarmupSteps = 100, CheckpointInterval = 250 }, recipe.Training);
    }

    [Fact]
    public void TheTranslationExampleFineTunesAndGatesOnBleu()
    {
        var recipe = Read("translation-sft.yaml");

        Assert.NotNull(recipe.FineTuning);
        Assert.Contains(new PromotionGate("en-fr", "bleu", 15), recipe.Gates);
        Assert.Equal("en-fr", Assert.Single(recipe.EvalSets).Name);
    }
}
