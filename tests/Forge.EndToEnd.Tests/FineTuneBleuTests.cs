using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Forge.Testing;
using Xunit.Abstractions;

namespace Forge.EndToEnd.Tests;

/// <summary>
/// The issue's acceptance for fine-tuning, through a build in the embedded mode: a tiny GPT pretrained on generated
/// text, then fine-tuned on a task whose answer is in its prompt (copying five words), is scored by the evaluator on 30
/// held-out prompts before and after; the fine-tune must gain at least <see cref="Margin"/> BLEU, and is promoted
/// because it beats the pretrained version on the recipe's BLEU gate.
/// </summary>
public sealed class FineTuneBleuTests(EmbeddedForge forge, ITestOutputHelper output) : IClassFixture<EmbeddedForge>, IDisposable
{
    /// <summary>BLEU points (sacreBLEU's 0 to 100) the fine-tune must gain over its base on the held-out copy prompts.</summary>
    private const double Margin = 20;

    private const int WordsPerPrompt = 5;

    private readonly TemporaryFolder _folder = new("finetune-bleu");

    private HttpClient Client => forge.Client;

    [Fact]
    public async Task FineTuningOnACopyTaskRaisesTheTaskBleuByTheMarginAndPromotesTheFineTune()
    {
        var build = await BuildAsync(Recipe("copier"), completion: answer => " " + answer);

        var fineTune = build.GetProperty("fineTune");
        Assert.True(fineTune.GetProperty("modelVersionId").ValueKind == JsonValueKind.String, $"the build ended before its fine-tune was registered: {build}");
        var baseId = fineTune.GetProperty("baseVersionId").GetString()!;
        var tunedId = fineTune.GetProperty("modelVersionId").GetString()!;
        var baseBleu = await BleuAsync(baseId);
        var tunedBleu = await BleuAsync(tunedId);
        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"copy-task BLEU: base {baseId} {baseBleu:F2}, fine-tuned {tunedId} {tunedBleu:F2}"));
        await ShowAnswersAsync(baseId);
        await ShowAnswersAsync(tunedId);

        Assert.True(build.GetProperty("state").GetString() == "Completed", build.ToString());
        Assert.Equal(["evalsets", "ingest", "clean", "seal", "tokenizer", "tokenize", "pretrain", "register", "evaluate", "promote",
            "finetune", "finetune-register", "finetune-evaluate", "finetune-promote", "serve"], build.GetProperty("stages").EnumerateArray().Select(s => s.GetProperty("name").GetString()));
        Assert.True(tunedBleu >= baseBleu + Margin, string.Create(CultureInfo.InvariantCulture, $"BLEU {tunedBleu:F2} after fine-tuning, {baseBleu:F2} before: expected a gain of at least {Margin}"));

        // The build's model is the fine-tune: a version of the same model, with the pretrained one as its base, promoted and served.
        Assert.Equal(tunedId, build.GetProperty("modelVersionId").GetString());
        Assert.Equal($"{build.GetProperty("id").GetString()}-finetune", fineTune.GetProperty("runId").GetString());
        var tuned = await Client.GetFromJsonAsync<JsonElement>($"/api/orchestrator/models/{Uri.EscapeDataString(tunedId)}");
        Assert.Equal(baseId, tuned.GetProperty("baseVersionId").GetString());
        Assert.Equal("Promoted", tuned.GetProperty("state").GetString());
        // Promotion looks only at the BLEU gate, so the held-out measurement may still be on its way.
        await Eventually.WaitAsync(() => Client.GetFromJsonAsync<JsonElement>($"/api/orchestrator/models/{Uri.EscapeDataString(tunedId)}"),
            v => v.GetProperty("metrics").TryGetProperty("validation", out _), TimeSpan.FromSeconds(30), "the fine-tune to be measured on the held-out shards");
        var family = await Client.GetFromJsonAsync<JsonElement>("/api/orchestrator/families/copier");
        Assert.Equal(tunedId, family.GetProperty("promotedVersionId").GetString());
    }

    [Fact]
    public async Task AFineTuneThatDoesNotBeatItsBaseFailsTheBuildAtItsPromotionWithTheReasons()
    {
        // Taught to answer "none" to everything, with no replay: no better at copying, and worse on held-out text.
        var build = await BuildAsync(Recipe("noner", pretrainSteps: 30, fineTuneSteps: 40, replayFraction: 0, extraGate: """

                - evalSet: validation
                  metric: perplexity
            """), completion: _ => " none");

        Assert.True(build.GetProperty("state").GetString() == "Failed", build.ToString());
        var stages = build.GetProperty("stages").EnumerateArray().ToDictionary(s => s.GetProperty("name").GetString()!, s => s);
        Assert.Equal("Completed", stages["promote"].GetProperty("state").GetString());
        Assert.Equal("Completed", stages["finetune-register"].GetProperty("state").GetString());
        Assert.Equal("Failed", stages["finetune-promote"].GetProperty("state").GetString());
        Assert.Equal("Pending", stages["serve"].GetProperty("state").GetString());
        Assert.StartsWith("finetune-promote: refused: ", build.GetProperty("failure").GetString(), StringComparison.Ordinal);
        var reasons = build.GetProperty("promotionRefusals").EnumerateArray().Select(r => r.GetString()!).ToList();
        Assert.NotEmpty(reasons);
        Assert.All(reasons, r => Assert.Contains(r, build.GetProperty("failure").GetString(), StringComparison.Ordinal));
        // The build's model stays the promoted pretrained version; the fine-tune is a candidate the registry kept.
        var fineTune = build.GetProperty("fineTune");
        Assert.Equal(fineTune.GetProperty("baseVersionId").GetString(), build.GetProperty("modelVersionId").GetString());
        var tuned = await Client.GetFromJsonAsync<JsonElement>($"/api/orchestrator/models/{Uri.EscapeDataString(fineTune.GetProperty("modelVersionId").GetString()!)}");
        Assert.Equal("Candidate", tuned.GetProperty("state").GetString());
    }

    /// <summary>Writes the corpus, the copy task's examples (answered by <paramref name="completion"/>) and its eval set, then runs the recipe to its end.</summary>
    private async Task<JsonElement> BuildAsync(string recipe, Func<string, string> completion)
    {
        var corpus = WriteCorpus();
        var (train, heldOut) = CopyExamples(corpus, trainCount: 240, heldOutCount: 30);
        File.WriteAllLines(Path.Combine(_folder.Path, "copy-sft.jsonl"), train.Select(e => JsonSerializer.Serialize(new { prompt = e.Prompt, completion = completion(e.Answer) })));
        File.WriteAllLines(Path.Combine(_folder.Path, "copy-eval.jsonl"), heldOut.Select(e => JsonSerializer.Serialize(new { prompt = e.Prompt, references = new[] { e.Answer } })));

        using var submitted = await Client.PostAsJsonAsync("/api/orchestrator/builds", new { recipe, baseFolder = _folder.Path });
        var accepted = await submitted.Content.ReadFromJsonAsync<JsonElement>();
        Assert.True(submitted.StatusCode == HttpStatusCode.Accepted, accepted.ToString());
        return await Eventually.WaitAsync(() => Client.GetFromJsonAsync<JsonElement>($"/api/orchestrator/builds/{accepted.GetProperty("id").GetString()}"),
            b => b.GetProperty("state").GetString() != "Running", TimeSpan.FromSeconds(180), "the build to end");
    }

    /// <summary>
    /// Pretraining and fine-tuning small enough for two CPU cores, gated on the copy task's BLEU, which a fine-tune
    /// must beat. Rotary positions, because copying means attending a fixed distance back, which rotary attention
    /// expresses directly: with learned positions this model did not learn to copy in 600 steps (BLEU about 2).
    /// </summary>
    private static string Recipe(string name, int pretrainSteps = 200, int fineTuneSteps = 600, double replayFraction = 0.1, string extraGate = "") => $$"""
        name: {{name}}
        data:
          sources:
            - path: corpus
              separator: "%"
          validationFraction: 0.1
          cleaning:
            qualityFilters: false
        tokenizer:
          kind: bpe
          vocabularySize: 400
        model:
          layers: 2
          heads: 2
          width: 48
          contextLength: 32
          dropout: 0
          positions: rotary
        training:
          batchSize: 8
          maxSteps: {{pretrainSteps}}
          learningRate: 3e-3
          minLearningRate: 3e-4
          warmupSteps: 5
          decaySteps: {{pretrainSteps}}
          evaluationInterval: 0
          logInterval: 10
        fineTuning:
          data: copy-sft.jsonl
          maxSteps: {{fineTuneSteps}}
          learningRate: 5e-3
          batchSize: 16
          replayFraction: {{replayFraction.ToString(CultureInfo.InvariantCulture)}}
        evaluation:
          sets:
            - name: copy-words
              path: copy-eval.jsonl
          metrics:
            - evalSet: copy-words
              metric: bleu{{extraGate}}
          mustBeatPromoted: true
        """;

    /// <summary>Fortune-style generated documents ('%' between them), as the build tests write them.</summary>
    private string WriteCorpus()
    {
        var folder = Path.Combine(_folder.Path, "corpus");
        Directory.CreateDirectory(folder);
        var generator = new CorpusGenerator(9);
        var documents = Enumerable.Range(0, 150).Select(_ => generator.Document(40)).ToList();
        File.WriteAllText(Path.Combine(folder, "quotes"), string.Join("\n%\n", documents) + "\n%\n");
        return string.Join(' ', documents);
    }

    private sealed record CopyExample(string Prompt, string Answer);

    /// <summary>
    /// "copy: w1 … w5 =>" answered " w1 … w5", the words drawn from the corpus's ten most frequent (so the tokenizer
    /// knows them well); the held-out prompts are word sequences no training example has.
    /// </summary>
    private static (List<CopyExample> Train, List<CopyExample> HeldOut) CopyExamples(string corpus, int trainCount, int heldOutCount)
    {
        var words = corpus.Split(' ').Select(w => w.TrimEnd('.')).Where(w => w.Length > 0)
            .GroupBy(w => w, StringComparer.Ordinal).OrderByDescending(g => g.Count()).ThenBy(g => g.Key, StringComparer.Ordinal).Take(10).Select(g => g.Key).ToArray();
        var random = new Random(17);
        var sequences = new HashSet<string>(StringComparer.Ordinal);
        while (sequences.Count < trainCount + heldOutCount)
            sequences.Add(string.Join(' ', Enumerable.Range(0, WordsPerPrompt).Select(_ => words[random.Next(words.Length)])));
        var examples = sequences.Select(s => new CopyExample($"copy: {s} =>", s)).ToList();
        return (examples[..trainCount], examples[trainCount..]);
    }

    private async Task<double> BleuAsync(string versionId)
    {
        var version = await Client.GetFromJsonAsync<JsonElement>($"/api/orchestrator/models/{Uri.EscapeDataString(versionId)}");
        Assert.True(version.GetProperty("metrics").TryGetProperty("copy-words", out var task), $"{versionId} has no copy-words metrics: {version}");
        return task.GetProperty("bleu").GetDouble();
    }

    /// <summary>A few of the version's answers, from the evaluator's report, for whoever reads the test's output.</summary>
    private async Task ShowAnswersAsync(string versionId)
    {
        var report = await Client.GetFromJsonAsync<JsonElement>($"/api/evaluator/evaluations/{Uri.EscapeDataString($"{versionId}:copy-words")}");
        foreach (var example in report.GetProperty("examples").EnumerateArray().Take(3))
            output.WriteLine($"  {versionId}: {example.GetProperty("prompt")} -> {example.GetProperty("output")}");
    }

    public void Dispose() => _folder.Dispose();
}
