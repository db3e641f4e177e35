using Forge.Model;

namespace Forge.Recipes.Tests;

public sealed class JsonTests : IDisposable
{
    private readonly RecipeFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    private Recipe FullRecipe()
    {
        _folder.Write("corpus/a.txt");
        _folder.Write("more.txt");
        _folder.Write("tasks/qa.jsonl", "{\"prompt\": \"q\", \"completion\": \"a\"}\n");
        _folder.Write("eval/qa.jsonl", "{\"prompt\": \"q\", \"references\": [\"a\"]}\n");
        return _folder.ReadValid("""
            name: full.recipe_1
            useCase: |
              Answers questions
              about everything.
            data:
              sources:
                - path: corpus/
                  separator: "%"
                  format: txt
                - more.txt
              validationFraction: 0.2
              cleaning:
                qualityFilters: false
                minWords: 3
            tokenizer:
              kind: bpe
              vocabularySize: 4096
              minFrequency: 3
              specialTokens: ["<|endoftext|>", "<|user|>"]
            model:
              architecture: gpt
              layers: 6
              heads: 6
              width: 384
              contextLength: 256
              dropout: 0.1
              bias: false
              positions: rotary
              tieEmbeddings: false
              rotaryBase: 500000
            training:
              batchSize: 32
              gradientAccumulationSteps: 4
              maxSteps: 5000
              learningRate: 6e-4
              minLearningRate: 6e-5
              warmupSteps: 200
              decaySteps: 5000
              weightDecay: 0.05
              beta2: 0.95
              checkpointInterval: 500
              seed: 42
              precision: bf16
            fineTuning:
              data: tasks/qa.jsonl
              maxSteps: 200
              learningRate: 1e-4
              batchSize: 4
              replayFraction: 0.25
            evaluation:
              sets:
                - name: qa
                  path: eval/qa.jsonl
              metrics:
                - evalSet: validation
                  metric: perplexity
                  threshold: 40
                - evalSet: qa
                  metric: rougeL
                  threshold: 0.3
                  goal: maximize
              mustBeatPromoted: false
            feedback:
              minNewFeedback: 100
              minNewExamples: 20
              ratingBelow: 3.5
              minRatings: 15
              enabled: false
            """);
    }

    [Fact]
    public void AFullRecipeSurvivesTheJsonRoundTrip()
    {
        var recipe = FullRecipe();

        var json = recipe.ToJson();
        var back = Recipe.FromJson(json);

        Assert.Equal(json, back.ToJson());
        Assert.Equal(recipe.Sources, back.Sources);
        Assert.Equal(recipe.Tokenizer.SpecialTokens, back.Tokenizer.SpecialTokens);
        Assert.Equal(recipe.Model, back.Model);
        Assert.Equal(recipe.Training, back.Training);
        Assert.Equal(recipe.FineTuning, back.FineTuning);
        Assert.Equal(recipe.EvalSets, back.EvalSets);
        Assert.Equal(recipe.Gates, back.Gates);
        Assert.Equal(recipe.Feedback, back.Feedback);
        Assert.Equal((recipe.Name, recipe.UseCase, recipe.ValidationFraction, recipe.CleaningJson, recipe.MustBeatPromoted),
            (back.Name, back.UseCase, back.ValidationFraction, back.CleaningJson, back.MustBeatPromoted));
    }

    [Fact]
    public void TheFullRecipeHoldsEveryValueItWasGiven()
    {
        var recipe = FullRecipe();

        Assert.Equal("full.recipe_1", recipe.Name);
        Assert.Equal("Answers questions\nabout everything.\n", recipe.UseCase);
        Assert.Equal([new DataSource(_folder.PathOf("corpus"), "%", "txt"), new DataSource(_folder.PathOf("more.txt"))], recipe.Sources);
        Assert.Equal(0.2, recipe.ValidationFraction);
        Assert.Equal("""{"qualityFilters":false,"minWords":3}""", recipe.CleaningJson);
        Assert.Equal(("bpe", 4096, 3), (recipe.Tokenizer.Kind, recipe.Tokenizer.VocabularySize, recipe.Tokenizer.MinFrequency));
        Assert.Equal(new GptConfig
        {
            VocabularySize = 0, Layers = 6, Heads = 6, Width = 384, ContextLength = 256, Dropout = 0.1, Bias = false,
            Positions = PositionEncoding.Rotary, TieEmbeddings = false, RotaryBase = 500_000,
        }, recipe.Model);
        Assert.Equal(new TrainingConfig
        {
            BatchSize = 32, GradientAccumulationSteps = 4, MaxSteps = 5000, LearningRate = 6e-4, MinLearningRate = 6e-5,
            WarmupSteps = 200, DecaySteps = 5000, WeightDecay = 0.05, Beta2 = 0.95, CheckpointInterval = 500, Seed = 42, Precision = "bf16",
        }, recipe.Training);
        Assert.Equal(new FineTuningSettings(_folder.PathOf("tasks/qa.jsonl"), 200, 1e-4, 4, 0.25), recipe.FineTuning);
        Assert.Equal([new EvaluationSet("qa", _folder.PathOf("eval/qa.jsonl"))], recipe.EvalSets);
        Assert.Equal([new PromotionGate("validation", "perplexity", 40), new PromotionGate("qa", "rougeL", 0.3, "maximize")], recipe.Gates);
        Assert.False(recipe.MustBeatPromoted);
        Assert.Equal(new FeedbackPolicy { MinNewFeedback = 100, MinNewExamples = 20, RatingBelow = 3.5, MinRatings = 15, Enabled = false }, recipe.Feedback);
    }

    [Fact]
    public void TheJsonIsCamelCaseWithEnumsAsStrings()
    {
        var json = FullRecipe().ToJson();

        Assert.Contains("\"architecture\":\"gpt\"", json, StringComparison.Ordinal);
        Assert.Contains("\"positions\":\"rotary\"", json, StringComparison.Ordinal);
        Assert.Contains("\"vocabularySize\":0", json, StringComparison.Ordinal);
        Assert.Contains("\"mustBeatPromoted\":false", json, StringComparison.Ordinal);
        Assert.Contains("\"cleaningJson\":", json, StringComparison.Ordinal);
    }
}
