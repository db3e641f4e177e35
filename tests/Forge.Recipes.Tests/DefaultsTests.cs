using System.Text.Json.Nodes;
using Forge.Model;

namespace Forge.Recipes.Tests;

public sealed class DefaultsTests : IDisposable
{
    private readonly RecipeFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    [Fact]
    public void ANameAndADataPathAreARecipeWithEveryDefault()
    {
        var corpus = _folder.Write("corpus.txt");

        var recipe = _folder.ReadValid("""
            name: x
            data: corpus.txt
            """);

        Assert.Equal("x", recipe.Name);
        Assert.Null(recipe.UseCase);
        Assert.Equal([new DataSource(corpus)], recipe.Sources);
        Assert.Equal(0.1, recipe.ValidationFraction);
        Assert.Null(recipe.CleaningJson);
        Assert.Equal(("bpe", 2048, 2), (recipe.Tokenizer.Kind, recipe.Tokenizer.VocabularySize, recipe.Tokenizer.MinFrequency));
        Assert.Equal(["<|endoftext|>", "<|system|>", "<|user|>", "<|assistant|>"], recipe.Tokenizer.SpecialTokens);
        // Sized for a CPU: a few minutes of training, not GPT-2 small's hours.
        Assert.Equal(new GptConfig { VocabularySize = 0, Layers = 4, Heads = 4, Width = 128, ContextLength = 128, Dropout = 0, Bias = false }, recipe.Model);
        Assert.Equal(new TrainingConfig { BatchSize = 16, MaxSteps = 1000, DecaySteps = 1000, CheckpointInterval = 250 }, recipe.Training);
        Assert.Null(recipe.FineTuning);
        Assert.Empty(recipe.EvalSets);
        Assert.Empty(recipe.Gates);
        Assert.True(recipe.MustBeatPromoted);
        Assert.Null(recipe.Feedback);
    }

    [Fact]
    public void ASourceMayBeAUrlThatTheIngestionServiceDownloads()
    {
        var recipe = _folder.ReadValid("""
            name: x
            data:
              sources:
                - path: https://example.org/corpus/quotes.txt
                  separator: "%"
            """);

        Assert.Equal([new DataSource("https://example.org/corpus/quotes.txt", "%")], recipe.Sources);
    }

    [Fact]
    public void SourcesMayBeAFlowListOfPaths()
    {
        var a = _folder.Write("a.txt");

        var recipe = _folder.ReadValid("""
            name: x
            data:
              sources: [a.txt]
            """);

        Assert.Equal([new DataSource(a)], recipe.Sources);
        Assert.Equal(0.1, recipe.ValidationFraction);
    }

    [Fact]
    public void SourcesMixPathsAndObjectsWithSeparatorsAndFormats()
    {
        var quotes = _folder.Write("quotes/fortunes", "A quote.\n%\nAnother.\n");
        var notes = _folder.Write("notes.txt");
        using var elsewhere = new RecipeFolder();
        var absolute = elsewhere.Write("abs.md");

        var recipe = _folder.ReadValid($"""
            name: x
            data:
              sources:
                - path: quotes/
                  separator: "%"
                - notes.txt
                - path: {absolute}
                  format: MD
            """);

        Assert.Equal([new DataSource(Path.GetDirectoryName(quotes)!, "%"), new DataSource(notes), new DataSource(absolute, Format: "md")], recipe.Sources);
    }

    [Fact]
    public void AFileRecipesPathsAreRelativeToItsOwnFolder()
    {
        var corpus = _folder.Write("project/corpus.txt");
        var recipeFile = _folder.Write("project/recipe.yaml", "name: x\ndata: corpus.txt\n");

        var result = RecipeReader.ReadFile(recipeFile);

        Assert.True(result.Succeeded, string.Join("\n", result.Errors));
        Assert.Equal(corpus, Assert.Single(result.Recipe.Sources).Path);
    }

    [Fact]
    public void WithoutPathChecksMissingFilesAreStillMadeAbsolute()
    {
        var result = RecipeReader.Read("name: x\ndata: nowhere/corpus.txt\n", _folder.Path, checkPaths: false);

        Assert.True(result.Succeeded, string.Join("\n", result.Errors));
        Assert.Equal(_folder.PathOf("nowhere/corpus.txt"), Assert.Single(result.Recipe.Sources).Path);
    }

    [Fact]
    public void ACharTokenizerTakesItsVocabularyFromTheText()
    {
        _folder.Write("corpus.txt");

        var recipe = _folder.ReadValid("""
            name: x
            data: corpus.txt
            tokenizer:
              kind: char
            """);

        Assert.Equal(("char", 0, 1), (recipe.Tokenizer.Kind, recipe.Tokenizer.VocabularySize, recipe.Tokenizer.MinFrequency));
        Assert.Empty(recipe.Tokenizer.SpecialTokens);
    }

    [Fact]
    public void CleaningSettingsBecomeCamelCaseJsonWithTypedValues()
    {
        _folder.Write("corpus.txt");

        var recipe = _folder.ReadValid("""
            name: x
            data:
              sources: corpus.txt
              cleaning:
                qualityFilters: false
                MinWords: 5
                nearDuplicateJaccard: 0.7
                label: "12"
                maxTopNGramCharShare: [0.2, 0.18, 0.16]
            """);

        var expected = JsonNode.Parse("""
            {"qualityFilters": false, "minWords": 5, "nearDuplicateJaccard": 0.7, "label": "12", "maxTopNGramCharShare": [0.2, 0.18, 0.16]}
            """);
        Assert.True(JsonNode.DeepEquals(expected, JsonNode.Parse(recipe.CleaningJson!)), recipe.CleaningJson);
    }

    [Fact]
    public void ModelAndTrainingFieldsOverrideOnlyWhatTheyName()
    {
        _folder.Write("corpus.txt");

        var recipe = _folder.ReadValid("""
            name: x
            data: corpus.txt
            model:
              architecture: lstm
              layers: 2
              width: 256
            training:
              maxSteps: 1e4
              learningRate: 3e-4
              device: cpu
            """);

        Assert.Equal(RecipeDefaults.Model with { Architecture = ModelArchitecture.Lstm, Layers = 2, Width = 256 }, recipe.Model);
        // The cosine follows maxSteps unless decaySteps is given.
        Assert.Equal(RecipeDefaults.Training with { MaxSteps = 10_000, DecaySteps = 10_000, LearningRate = 3e-4, Device = "cpu" }, recipe.Training);
    }

    [Fact]
    public void GivenSectionsTakeTheirOwnDefaults()
    {
        _folder.Write("corpus.txt");
        var tasks = _folder.Write("tasks/qa.jsonl", "{\"prompt\": \"q\", \"completion\": \"a\"}\n");

        var recipe = _folder.ReadValid("""
            name: x
            data: corpus.txt
            fineTuning:
              data: tasks/qa.jsonl
            feedback:
              minNewFeedback: 20
            evaluation:
              metrics:
                - evalSet: validation
                  metric: perplexity
            """);

        Assert.Equal(new FineTuningSettings(tasks, MaxSteps: 100, LearningRate: 3e-4, BatchSize: 8, ReplayFraction: 0.5), recipe.FineTuning);
        Assert.Equal(new FeedbackPolicy { MinNewFeedback = 20, MinNewExamples = 1, RatingBelow = null, MinRatings = 10, Enabled = true }, recipe.Feedback);
        Assert.Equal([new PromotionGate("validation", "perplexity")], recipe.Gates);
        Assert.True(recipe.MustBeatPromoted);
    }

    [Fact]
    public void NullSectionsAreLeftOut()
    {
        _folder.Write("corpus.txt");

        var recipe = _folder.ReadValid("""
            name: x
            data: corpus.txt
            useCase:
            tokenizer: ~
            fineTuning: null
            feedback:
            """);

        Assert.Null(recipe.FineTuning);
        Assert.Null(recipe.Feedback);
        Assert.Equal("bpe", recipe.Tokenizer.Kind);
    }
}
