namespace Forge.Recipes.Tests;

public sealed class ErrorTests : IDisposable
{
    private readonly RecipeFolder _folder = new();

    public ErrorTests() => _folder.Write("corpus.txt");

    public void Dispose() => _folder.Dispose();

    [Fact]
    public void BrokenYamlIsOneErrorAtTheLineWhereItBreaks()
    {
        var result = _folder.Read("""
            name: x
            data: corpus.txt
            model:
              layers: 4
             heads: 2
            """);

        RecipeAssert.HasError(result, 5, 2, "", "did not find expected key");
    }

    [Fact]
    public void AnUnclosedBracketIsReportedWhereReadingStopped()
    {
        var result = _folder.Read("""
            name: x
            data: [corpus.txt
            tokenizer:
              kind: bpe
            """);

        var error = Assert.Single(result.Errors);
        Assert.Equal("", error.Field);
        Assert.InRange(error.Line, 2, 4);
    }

    [Fact]
    public void ADuplicateKeyIsReportedAtItsSecondUse()
    {
        var result = _folder.Read("""
            name: x
            data: corpus.txt
            name: y
            """);

        RecipeAssert.HasError(result, 3, 1, "", "the key 'name' appears twice");
    }

    [Fact]
    public void UnknownKeysAreReportedWithTheClosestKnownNameOrTheSectionTheyBelongTo()
    {
        var result = _folder.Read("""
            name: x
            data:
              sources: corpus.txt
            training:
              learningrate: 1e-3
            model:
              layer: 4
              learningRate: 0.1
              vocabularySize: 100
            colour: blue
            layers: 4
            cleaning:
              minWords: 3
            vocabularySize: 512
            """);

        RecipeAssert.HasError(result, 5, 3, "training.learningrate", "is not a known field (did you mean 'learningRate'?)");
        RecipeAssert.HasError(result, 7, 3, "model.layer", "(did you mean 'layers'?)");
        RecipeAssert.HasError(result, 8, 3, "model.learningRate", "(a training field: put it under training)");
        RecipeAssert.HasError(result, 9, 19, "model.vocabularySize", "set tokenizer.vocabularySize");
        RecipeAssert.HasError(result, 10, 1, "colour", "; the fields of a recipe are name, useCase, data, tokenizer, model, training, fineTuning, evaluation, feedback");
        RecipeAssert.HasError(result, 11, 1, "layers", "(a model field: put it under model)");
        RecipeAssert.HasError(result, 12, 1, "cleaning", "(a data field: put it under data)");
        RecipeAssert.HasError(result, 14, 1, "vocabularySize", "(a tokenizer field: put it under tokenizer)");
        Assert.Equal(8, result.Errors.Count);
    }

    [Fact]
    public void ValuesOfTheWrongTypeAreReportedAtTheValue()
    {
        var result = _folder.Read("""
            name: x
            data: corpus.txt
            tokenizer: [bpe]
            model:
              layers: four
              dropout: [0.1]
              bias: yes
              positions: rotery
            training:
              batchSize: 1.5
              device: {name: cpu}
            """);

        RecipeAssert.HasError(result, 3, 12, "tokenizer", "must be a mapping of fields (key: value), not a list");
        RecipeAssert.HasError(result, 5, 11, "model.layers", "must be a whole number, not 'four'");
        RecipeAssert.HasError(result, 6, 12, "model.dropout", "must be a number, not a list");
        RecipeAssert.HasError(result, 7, 9, "model.bias", "must be true or false, not 'yes'");
        RecipeAssert.HasError(result, 8, 14, "model.positions", "must be one of learned, rotary, not 'rotery' (did you mean 'rotary'?)");
        RecipeAssert.HasError(result, 10, 14, "training.batchSize", "must be a whole number");
        RecipeAssert.HasError(result, 11, 11, "training.device", "must be text, not a mapping");
        Assert.Equal(7, result.Errors.Count);
    }

    [Fact]
    public void ValuesOutOfRangeAreReportedAtTheValue()
    {
        _folder.Write("tasks.jsonl");

        var result = _folder.Read("""
            name: Fortunes!
            data:
              sources: corpus.txt
              validationFraction: 0.7
            fineTuning:
              data: tasks.jsonl
              replayFraction: 1
            feedback:
              minNewFeedback: 10
              minNewExamples: 11
              ratingBelow: 7
            """);

        RecipeAssert.HasError(result, 1, 7, "name", "must be 1 to 64 lowercase letters, digits");
        RecipeAssert.HasError(result, 4, 23, "data.validationFraction", "must be above 0 and at most 0.5");
        RecipeAssert.HasError(result, 7, 19, "fineTuning.replayFraction", "must be at least 0 and below 1");
        RecipeAssert.HasError(result, 10, 19, "feedback.minNewExamples", "at most minNewFeedback");
        RecipeAssert.HasError(result, 11, 16, "feedback.ratingBelow", "must be above 1 and at most 5");
        Assert.Equal(5, result.Errors.Count);
    }

    [Fact]
    public void ImpossibleSizesAreReportedAtTheFieldTheyNameInTheRecipesWords()
    {
        var result = _folder.Read("""
            name: x
            data: corpus.txt
            model:
              heads: 6
              width: 128
              dropout: 1.5
            training:
              warmupSteps: 3000
              minLearningRate: 0.1
            """);

        RecipeAssert.HasError(result, 4, 10, "model.heads", "heads (6) must divide width (128): each head gets width / heads channels");
        RecipeAssert.HasError(result, 6, 12, "model.dropout", "dropout must be in [0, 1)");
        RecipeAssert.HasError(result, 8, 16, "training.warmupSteps", "decaySteps (1000) must come after warmupSteps (3000)");
        RecipeAssert.HasError(result, 9, 20, "training.minLearningRate", "must not exceed learningRate");
        Assert.Equal(4, result.Errors.Count);
    }

    [Fact]
    public void AProblemWithADefaultValueIsReportedAtTheFieldTheRecipeSets()
    {
        var result = _folder.Read("""
            name: x
            data: corpus.txt
            model:
              heads: 5
            training:
              decaySteps: 50
            """);

        RecipeAssert.HasError(result, 4, 10, "model.heads", "heads (5) must divide width (128)");
        RecipeAssert.HasError(result, 6, 15, "training.decaySteps", "decaySteps (50) must come after warmupSteps (100)");
    }

    [Fact]
    public void ABpeVocabularyMustHoldTheBytesAndTheSpecialTokens()
    {
        var result = _folder.Read("""
            name: x
            data: corpus.txt
            tokenizer:
              vocabularySize: 259
            """);

        RecipeAssert.HasError(result, 4, 19, "tokenizer.vocabularySize", "must be at least 260: a byte-level BPE vocabulary holds the 256 bytes and the 4 special tokens");
    }

    [Fact]
    public void BpeSettingsAreRefusedForACharTokenizer()
    {
        var result = _folder.Read("""
            name: x
            data: corpus.txt
            tokenizer:
              kind: char
              vocabularySize: 4096
              specialTokens: []
            """);

        RecipeAssert.HasError(result, 5, 19, "tokenizer.vocabularySize", "applies to bpe tokenizers only");
        RecipeAssert.HasError(result, 6, 18, "tokenizer.specialTokens", "applies to bpe tokenizers only");
    }

    [Fact]
    public void MissingRequiredFieldsAreReportedWhereTheyBelong()
    {
        var result = _folder.Read("""
            useCase: nothing else
            fineTuning:
              maxSteps: 10
            evaluation:
              metrics:
                - metric: bleu
            """);

        RecipeAssert.HasError(result, 1, 1, "name", "is required");
        RecipeAssert.HasError(result, 1, 1, "data", "is required");
        RecipeAssert.HasError(result, 2, 1, "fineTuning.data", "is required: a JSONL file");
        RecipeAssert.HasError(result, 6, 7, "evaluation.metrics[0].evalSet", "is required");
        Assert.Equal(4, result.Errors.Count);
    }

    [Fact]
    public void PathsWithNothingThereOrAnEmptyFolderAreReported()
    {
        Directory.CreateDirectory(_folder.PathOf("empty/nested"));
        _folder.Write("tasks/qa.jsonl");

        var result = _folder.Read("""
            name: x
            data:
              sources:
                - corpus.txt
                - path: missing.txt
                - path: empty/
                - gone/
            fineTuning:
              data: tasks/
            evaluation:
              sets:
                - name: qa
                  path: eval/qa.jsonl
            """);

        RecipeAssert.HasError(result, 5, 13, "data.sources[1].path", $"there is no file or folder at {_folder.PathOf("missing.txt")}");
        RecipeAssert.HasError(result, 6, 13, "data.sources[2].path", "holds no files");
        RecipeAssert.HasError(result, 7, 7, "data.sources[3]", "there is no file or folder at");
        RecipeAssert.HasError(result, 9, 9, "fineTuning.data", "is a folder: give a file");
        RecipeAssert.HasError(result, 13, 13, "evaluation.sets[0].path", $"there is no file at {_folder.PathOf("eval/qa.jsonl")}");
        Assert.Equal(5, result.Errors.Count);
    }

    [Fact]
    public void SourcesAndCleaningSettingsOfTheWrongShapeAreReported()
    {
        var result = _folder.Read("""
            name: x
            data:
              sources:
                - path: corpus.txt
                  separator: ""
                  format: text
                - [a.txt]
              cleaning:
                minWords: 3
                nested: {a: 1}
            """);

        RecipeAssert.HasError(result, 5, 18, "data.sources[0].separator", "must be one line of text");
        RecipeAssert.HasError(result, 6, 15, "data.sources[0].format", "must be one of txt, md, html, pdf, jsonl, not 'text' (did you mean 'txt'?)");
        RecipeAssert.HasError(result, 7, 7, "data.sources[1]", "must be a path or {path, separator, format}, not a list");
        RecipeAssert.HasError(result, 10, 13, "data.cleaning.nested", "must be a value or a list of values, not a mapping");
        Assert.Equal(4, result.Errors.Count);
    }

    [Fact]
    public void AMissingShorthandDataPathIsReportedAtTheData()
    {
        var result = _folder.Read("""
            name: x
            data: nothing.txt
            """);

        RecipeAssert.HasError(result, 2, 7, "data", "there is no file or folder at");
    }

    [Fact]
    public void GatesMustNameDefinedEvalSetsAndTheirMetricsOnTheirScales()
    {
        _folder.Write("qa.jsonl");

        var result = _folder.Read("""
            name: x
            data: corpus.txt
            evaluation:
              sets:
                - name: qa
                  path: qa.jsonl
                - name: qa
                  path: qa.jsonl
                - name: validation
                  path: qa.jsonl
              metrics:
                - evalSet: validation
                  metric: perplexty
                - evalSet: qa2
                  metric: bleu
                - evalSet: qa
                  metric: rougel
                - evalSet: qa
                  metric: rougeL
                  threshold: 30
                  goal: up
                - evalSet: qa
                  metric: rougeL
            """);

        RecipeAssert.HasError(result, 7, 13, "evaluation.sets[1].name", "qa is already the name of evaluation.sets[0].name");
        RecipeAssert.HasError(result, 9, 13, "evaluation.sets[2].name", "validation is the held-out split");
        RecipeAssert.HasError(result, 13, 15, "evaluation.metrics[0].metric", "is not measured on the validation set: use one of perplexity, loss, bitsPerByte (did you mean 'perplexity'?)");
        RecipeAssert.HasError(result, 14, 16, "evaluation.metrics[1].evalSet", "names no eval set of this recipe: use validation or define qa2 under evaluation.sets (did you mean 'qa'?)");
        RecipeAssert.HasError(result, 17, 15, "evaluation.metrics[2].metric", "(did you mean 'rougeL'?)");
        RecipeAssert.HasError(result, 20, 18, "evaluation.metrics[3].threshold", "30 is out of range for rougeL: ROUGE F-measures are on a 0 to 1 scale");
        RecipeAssert.HasError(result, 21, 13, "evaluation.metrics[3].goal", "must be one of maximize, minimize, not 'up'");
        RecipeAssert.HasError(result, 23, 15, "evaluation.metrics[4].metric", "rougeL on qa is already gated by evaluation.metrics[3].metric");
        Assert.Equal(8, result.Errors.Count);
    }

    [Fact]
    public void EveryErrorIsReportedInFileOrderWhateverOrderItWasFoundIn()
    {
        var result = _folder.Read("""
            colour: blue
            name: x
            data: missing.txt
            model:
              heads: 5
            """);

        Assert.Equal([(1, "colour"), (3, "data"), (5, "model.heads")], result.Errors.Select(error => (error.Line, error.Field)));
        Assert.Null(result.Recipe);
    }

    [Theory]
    [InlineData("")]
    [InlineData("# nothing but a comment\n")]
    public void AnEmptyRecipeSaysWhatItNeeds(string yaml)
    {
        var error = Assert.Single(_folder.Read(yaml).Errors);

        Assert.Equal((1, 1, ""), (error.Line, error.Column, error.Field));
        Assert.Contains("it needs at least a name and data", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ARecipeIsOneMapping()
    {
        RecipeAssert.HasError(_folder.Read("- name: x\n- data: corpus.txt\n"), 1, 1, "", "a recipe is a mapping of fields");
        RecipeAssert.HasError(_folder.Read("name: x\ndata: corpus.txt\n---\nname: y\n"), 4, 1, "", "a recipe is one YAML document");
    }
}
