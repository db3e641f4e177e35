using Forge.Model;
using TorchSharp;
using static TorchSharp.torch;

namespace Forge.Model.Tests;

/// <summary>
/// One tiny model per architecture, trained briefly on the tiny corpus: greedy choices then follow its period, so they
/// depend on several tokens of context, and the top logits are far apart.
/// </summary>
public sealed class TrainedModels : IDisposable
{
    private readonly Dictionary<(ModelArchitecture, PositionEncoding), TrainingLoop> loops = [];

    public TrainedModels()
    {
        using var corpus = new TinyCorpus();
        using (var validation = corpus.OpenValidation())
        {
            var text = new long[100];
            validation.Shards[0].Read(0, text);
            Text = [.. text.Select(t => (int)t)];
        }
        foreach (var (architecture, positions) in new[] { (ModelArchitecture.Gpt, PositionEncoding.Learned), (ModelArchitecture.Gpt, PositionEncoding.Rotary), (ModelArchitecture.Lstm, PositionEncoding.Learned) })
        {
            var config = (architecture == ModelArchitecture.Gpt ? Tiny.Gpt(corpus.VocabularySize) : Tiny.Lstm(corpus.VocabularySize)) with { Positions = positions };
            using var train = corpus.OpenTrain();
            var loop = new TrainingLoop(config, Tiny.Training(150), train);
            loop.Run();
            loop.Model.eval();
            loops[(architecture, positions)] = loop;
        }
    }

    /// <summary>The start of the validation split: prompts the models know how to continue.</summary>
    public int[] Text { get; }

    public LanguageModel this[ModelArchitecture architecture, PositionEncoding positions] => loops[(architecture, positions)].Model;

    public void Dispose()
    {
        foreach (var loop in loops.Values)
            loop.Dispose();
    }
}

public sealed class KvCacheTests(TrainedModels trained) : IClassFixture<TrainedModels>
{
    private const int Vocabulary = 12;

    /// <summary>A randomly initialised model in eval mode, for tests that need no sensible tokens.</summary>
    private static LanguageModel RandomModel(ModelArchitecture architecture, PositionEncoding positions = PositionEncoding.Learned, int contextLength = 16)
    {
        manual_seed(11);
        var config = (architecture == ModelArchitecture.Gpt ? Tiny.Gpt(Vocabulary) : Tiny.Lstm(Vocabulary)) with { Positions = positions, ContextLength = contextLength };
        var model = LanguageModel.Create(config);
        model.eval();
        return model;
    }

    private static int[] Prompt(int length, int seed = 5)
    {
        var random = new Random(seed);
        return [.. Enumerable.Range(0, length).Select(_ => random.Next(Vocabulary))];
    }

    [Theory]
    [MemberData(nameof(NetworkTests.Architectures), MemberType = typeof(NetworkTests))]
    public void CachedGreedyGenerationGivesTheTokensOfTheUncachedLoop(ModelArchitecture architecture, PositionEncoding positions)
    {
        var model = trained[architecture, positions];
        var options = new GenerationOptions { MaxNewTokens = 11 }; // 5 + 11 fills the context of 16 exactly

        var cached = TokenGenerator.Generate(model, trained.Text[..5], options);
        var uncached = TokenGenerator.GenerateWithoutCache(model, trained.Text[..5], options);

        Assert.Equal(uncached, cached);
        var continuesTheText = cached.Zip(trained.Text[5..]).Count(pair => pair.First == pair.Second);
        Assert.True(continuesTheText >= 8, $"the model should mostly continue its corpus: {string.Join(' ', cached)}");
    }

    [Theory]
    [MemberData(nameof(NetworkTests.Architectures), MemberType = typeof(NetworkTests))]
    public void CachedGenerationGivesTheUncachedTokensOnceTheWindowSlides(ModelArchitecture architecture, PositionEncoding positions)
    {
        var model = trained[architecture, positions];
        var options = new GenerationOptions { MaxNewTokens = 30 };

        Assert.Equal(TokenGenerator.GenerateWithoutCache(model, trained.Text[..5], options), TokenGenerator.Generate(model, trained.Text[..5], options));
        Assert.Equal(TokenGenerator.GenerateWithoutCache(model, trained.Text[..23], options), TokenGenerator.Generate(model, trained.Text[..23], options));
    }

    [Theory]
    [MemberData(nameof(NetworkTests.Architectures), MemberType = typeof(NetworkTests))]
    public void EachStepGivesTheLogitsOfTheWholeWindow(ModelArchitecture architecture, PositionEncoding positions)
    {
        var model = trained[architecture, positions];
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var tokens = tensor(trained.Text[..16].Select(t => (long)t).ToArray(), [1, 16], dtype: int64);
        var whole = model.call(tokens); // (1, 16, vocabulary)
        using var state = model.BeginDecoding();

        // A prompt of 6, a chunk of 3 after it (its mask is not top-left causal), then one token at a time.
        foreach (var length in new[] { 6, 3, 1, 1, 1, 1, 1, 1, 1 })
        {
            var start = state.Position;
            var logits = model.Step(state, tokens.narrow(1, start, length));

            var expected = whole.narrow(1, start, length);
            var difference = (logits - expected).abs().max().item<float>();
            Assert.True(difference < 1e-4, $"positions {start}…{start + length - 1} differ by {difference}");
        }
        Assert.Equal(16, state.Position);
    }

    [Theory]
    [InlineData(PositionEncoding.Learned)]
    [InlineData(PositionEncoding.Rotary)]
    public void TheCacheGrowsWithoutChangingTheLogits(PositionEncoding positions)
    {
        using var model = RandomModel(ModelArchitecture.Gpt, positions, contextLength: 160);
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var tokens = tensor(Prompt(160).Select(t => (long)t).ToArray(), [1, 160], dtype: int64);
        var whole = model.call(tokens); // (1, 160, vocabulary)
        using var state = model.BeginDecoding();

        model.Step(state, tokens.narrow(1, 0, 60));
        while (state.Position < 160) // the cache starts with room for 64 positions, then 128, then the whole context
        {
            var position = state.Position;
            var logits = model.Step(state, tokens.narrow(1, position, 1));

            var difference = (logits - whole.narrow(1, position, 1)).abs().max().item<float>();
            Assert.True(difference < 1e-4, $"position {position} differs by {difference}");
        }
    }

    [Theory]
    [InlineData(ModelArchitecture.Gpt, 1.5, 0, 1.0)]
    [InlineData(ModelArchitecture.Gpt, 2.0, 5, 0.9)]
    [InlineData(ModelArchitecture.Lstm, 1.5, 0, 0.95)]
    public void SampledGenerationWithASeedGivesTheUncachedTokens(ModelArchitecture architecture, double temperature, int topK, double topP)
    {
        var model = trained[architecture, architecture == ModelArchitecture.Gpt ? PositionEncoding.Rotary : PositionEncoding.Learned];

        foreach (var seed in new long[] { 1, 2, 3 })
        {
            var options = new GenerationOptions { MaxNewTokens = 24, Temperature = temperature, TopK = topK, TopP = topP, Seed = seed };
            Assert.Equal(TokenGenerator.GenerateWithoutCache(model, trained.Text[..4], options), TokenGenerator.Generate(model, trained.Text[..4], options));
        }
    }

    [Fact]
    public void StreamingYieldsTheGeneratedTokensAndStopsWhenCancelled()
    {
        var model = trained[ModelArchitecture.Gpt, PositionEncoding.Learned];
        var options = new GenerationOptions { MaxNewTokens = 12 };
        var generated = TokenGenerator.Generate(model, trained.Text[..3], options);

        Assert.Equal(generated, TokenGenerator.Stream(model, trained.Text[..3], options, CancellationToken.None));

        using var cancellation = new CancellationTokenSource();
        var streamed = new List<int>();
        foreach (var token in TokenGenerator.Stream(model, trained.Text[..3], options, cancellation.Token))
        {
            streamed.Add(token);
            if (streamed.Count == 4)
                cancellation.Cancel();
        }
        Assert.Equal(generated[..4], streamed);
    }

    [Fact]
    public void TheModeIsRestoredForATrainingModelAndLeftAloneForAnEvalModel()
    {
        using var model = RandomModel(ModelArchitecture.Gpt);
        var options = new GenerationOptions { MaxNewTokens = 3 };

        TokenGenerator.Generate(model, Prompt(3), options);
        Assert.False(model.training);

        model.train();
        TokenGenerator.Generate(model, Prompt(3), options);
        Assert.True(model.training);
    }

    [Theory]
    [InlineData(ModelArchitecture.Gpt)]
    [InlineData(ModelArchitecture.Lstm)]
    public async Task FourThreadsSharingOneModelGetWhatTheyGetOneAfterAnother(ModelArchitecture architecture)
    {
        using var model = RandomModel(architecture, PositionEncoding.Rotary, contextLength: 64);
        var requests = Enumerable.Range(0, 4)
            .Select(i => (Prompt: Prompt(3 + i, seed: i), Options: new GenerationOptions { MaxNewTokens = 40, Temperature = i % 2 == 0 ? 0 : 0.9, Seed = i }))
            .ToArray();
        var sequential = requests.Select(r => TokenGenerator.Generate(model, r.Prompt, r.Options)).ToArray();

        var concurrent = await Task.WhenAll(requests.Select(r => Task.Run(() => TokenGenerator.Generate(model, r.Prompt, r.Options))));

        Assert.Equal(sequential, concurrent);
    }

    [Theory]
    [InlineData(ModelArchitecture.Gpt)]
    [InlineData(ModelArchitecture.Lstm)]
    public void GeneratingLeavesNoTensorBehind(ModelArchitecture architecture)
    {
        using var model = RandomModel(architecture, contextLength: 256);
        TokenGenerator.Generate(model, Prompt(5), new GenerationOptions { MaxNewTokens = 5 }); // loads what loads once
        GC.Collect();
        GC.WaitForPendingFinalizers();
        var tensors = DisposeScopeManager.Statistics.ThreadTotalLiveCount;

        var generated = TokenGenerator.Generate(model, Prompt(5), new GenerationOptions { MaxNewTokens = 200, Temperature = 0.8 });
        foreach (var _ in TokenGenerator.Stream(model, Prompt(5), new GenerationOptions { MaxNewTokens = 200 }, CancellationToken.None).Take(20))
        {
            // leaving a stream early disposes its state too
        }

        Assert.Equal(200, generated.Length);
        Assert.Equal(tensors, DisposeScopeManager.Statistics.ThreadTotalLiveCount);
    }

    [Fact]
    public void AStepPastTheContextOrWithAnotherModelsStateIsRefused()
    {
        using var model = RandomModel(ModelArchitecture.Gpt);
        using var other = RandomModel(ModelArchitecture.Gpt);
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        using var state = model.BeginDecoding();
        model.Step(state, zeros([1, 10], ScalarType.Int64));

        var full = Assert.Throws<ArgumentException>(() => model.Step(state, zeros([1, 7], ScalarType.Int64)));
        Assert.Contains("at most 16 tokens", full.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => other.Step(state, zeros([1, 1], ScalarType.Int64)));
    }

    [Fact]
    public void ChoosingPicksTheTokenSortingTheWholeVocabularyPicked()
    {
        var random = new Random(3);
        float[] specials = [float.NegativeInfinity, -0f, 0f, float.NaN];
        for (var trial = 0; trial < 3000; trial++)
        {
            var logits = Enumerable.Range(0, random.Next(1, 300))
                .Select(_ => random.Next(50) == 0 ? specials[random.Next(specials.Length)] : random.Next(-40, 40) / (trial % 2 == 0 ? 4f : 37f))
                .ToArray();
            var options = new GenerationOptions
            {
                Temperature = 0.2 + random.NextDouble() * 2,
                TopK = random.Next(3) == 0 ? 0 : random.Next(1, logits.Length + 5),
                TopP = random.Next(3) == 0 ? 1 : random.NextDouble(),
            };
            var seed = random.Next();

            Assert.Equal(ChooseBySortingEverything(logits, options, new Random(seed)), TokenGenerator.Choose(logits, options, new Random(seed)));
        }
    }

    /// <summary>Choose as it was first written: the whole vocabulary sorted with LINQ for every token.</summary>
    private static int ChooseBySortingEverything(float[] logits, GenerationOptions options, Random random)
    {
        var order = Enumerable.Range(0, logits.Length).OrderByDescending(i => logits[i]).ToArray();
        if (options.TopK > 0)
            order = order[..Math.Min(options.TopK, order.Length)];
        var max = logits[order[0]];
        var weights = order.Select(i => Math.Exp((logits[i] - max) / options.Temperature)).ToArray();
        var total = weights.Sum();
        var kept = 0;
        var cumulative = 0.0;
        while (kept < order.Length)
        {
            cumulative += weights[kept++] / total;
            if (cumulative >= options.TopP)
                break;
        }
        var keptTotal = weights[..kept].Sum();
        var draw = random.NextDouble() * keptTotal;
        for (var i = 0; i < kept; i++)
        {
            draw -= weights[i];
            if (draw <= 0)
                return order[i];
        }
        return order[kept - 1];
    }
}
