using System.Diagnostics;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Forge.Bench.Trainer;

/// <summary>
/// The reference: nanoGPT's model and train.py written straight in TorchSharp, with no Forge code at all (no shards,
/// no sampler, no config records, no events), to measure what Forge's machinery costs.
/// </summary>
public sealed class BareLoop : IDisposable
{
    private readonly BenchSettings settings;
    private readonly BareGpt model;
    private readonly AdamW optimizer;
    private readonly Parameter[] parameters;
    private readonly long[] train;
    private readonly long[] validation;
    private readonly int[] validationTokens;
    private readonly Random random;
    private int iteration;

    public BareLoop(CharacterCorpus corpus, BenchSettings settings, long seed)
    {
        this.settings = settings;
        manual_seed(seed);
        model = new BareGpt(corpus.VocabularySize, settings);
        var decay = model.parameters().Where(p => p.dim() >= 2).ToArray();
        var noDecay = model.parameters().Where(p => p.dim() < 2).ToArray();
        optimizer = optim.AdamW(
            [new AdamW.ParamGroup(decay, new AdamW.Options { weight_decay = 0.1 }), new AdamW.ParamGroup(noDecay, new AdamW.Options { weight_decay = 0 })],
            lr: 1e-3, beta1: 0.9, beta2: 0.99);
        parameters = model.parameters().ToArray();
        train = corpus.Train.Select(t => (long)t).ToArray();
        validation = corpus.Validation.Select(t => (long)t).ToArray();
        validationTokens = corpus.Validation;
        random = new Random((int)seed);
    }

    public long Parameters => parameters.Sum(p => p.numel());

    /// <summary>Trains every iteration back to back, evaluating at the same steps as Forge does.</summary>
    public RunResult Run()
    {
        var iterationTimes = new List<double>();
        var evaluations = new List<(int Step, double Loss)>();
        var wall = Stopwatch.StartNew();
        while (iteration < settings.Iterations)
        {
            var started = Stopwatch.GetTimestamp();
            Step();
            iterationTimes.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
            if (iteration % settings.EvaluationInterval == 0 || iteration == settings.Iterations)
                evaluations.Add((iteration, Evaluate(settings.EvaluationBatches)));
        }
        return new RunResult("bare TorchSharp", iterationTimes, wall.Elapsed, evaluations, Evaluate(settings.FinalEvaluationBatches), FullValidationLoss(), Parameters);
    }

    /// <summary>One iteration of nanoGPT's loop: learning rate, batch, forward, backward, clip, step, zero_grad.</summary>
    public void Step()
    {
        using var scope = NewDisposeScope();
        var lr = LearningRate(iteration);
        foreach (var group in optimizer.ParamGroups)
            group.LearningRate = lr;
        var (x, y) = Batch(train, random);
        var logits = model.call(x);
        var loss = functional.cross_entropy(logits.view(-1, logits.shape[^1]), y.view(-1));
        loss.backward();
        nn.utils.clip_grad_norm_(parameters, 1.0);
        optimizer.step();
        model.zero_grad();
        _ = loss.item<float>();
        iteration++;
    }

    public double FullValidationLoss() => FullValidation.Loss(model, validationTokens, settings.Block, settings.BatchSize);

    public double Evaluate(int batches)
    {
        model.eval();
        using var noGrad = no_grad();
        var evalRandom = new Random(42);
        var total = 0.0;
        for (var i = 0; i < batches; i++)
        {
            using var scope = NewDisposeScope();
            var (x, y) = Batch(validation, evalRandom);
            var logits = model.call(x);
            total += functional.cross_entropy(logits.view(-1, logits.shape[^1]), y.view(-1)).item<float>();
        }
        model.train();
        return total / batches;
    }

    public void Dispose()
    {
        optimizer.Dispose();
        model.Dispose();
    }

    private static double LearningRate(int it)
    {
        if (it < 100)
            return 1e-3 * (it + 1) / 101;
        var ratio = (it - 100) / (double)(2000 - 100);
        return 1e-4 + 0.5 * (1 + Math.Cos(Math.PI * Math.Min(1, ratio))) * (1e-3 - 1e-4);
    }

    private (Tensor X, Tensor Y) Batch(long[] data, Random from)
    {
        var x = new long[settings.BatchSize * settings.Block];
        var y = new long[x.Length];
        for (var b = 0; b < settings.BatchSize; b++)
        {
            var start = from.NextInt64(data.Length - settings.Block);
            Array.Copy(data, start, x, b * settings.Block, settings.Block);
            Array.Copy(data, start + 1, y, b * settings.Block, settings.Block);
        }
        return (tensor(x, [settings.BatchSize, settings.Block]), tensor(y, [settings.BatchSize, settings.Block]));
    }

    private sealed class BareGpt : Module<Tensor, Tensor>
    {
        private readonly Embedding wte;
        private readonly Embedding wpe;
        private readonly ModuleList<BareBlock> h;
        private readonly LayerNorm ln_f;

        public BareGpt(int vocabulary, BenchSettings s) : base(nameof(BareGpt))
        {
            wte = Embedding(vocabulary, s.Width);
            wpe = Embedding(s.Block, s.Width);
            h = ModuleList(Enumerable.Range(0, s.Layers).Select(_ => new BareBlock(s)).ToArray());
            ln_f = LayerNorm(s.Width, bias: false);
            init.normal_(wte.weight!, 0, 0.02);
            init.normal_(wpe.weight!, 0, 0.02);
            RegisterComponents();
        }

        public override Tensor forward(Tensor idx)
        {
            var x = wte.call(idx) + wpe.call(arange(idx.shape[1]));
            foreach (var block in h)
                x = block.call(x);
            return functional.linear(ln_f.call(x), wte.weight!);
        }
    }

    private sealed class BareBlock : Module<Tensor, Tensor>
    {
        private readonly LayerNorm ln_1;
        private readonly Linear c_attn;
        private readonly Linear attn_proj;
        private readonly LayerNorm ln_2;
        private readonly Linear c_fc;
        private readonly GELU gelu;
        private readonly Linear mlp_proj;
        private readonly int heads;

        public BareBlock(BenchSettings s) : base(nameof(BareBlock))
        {
            heads = s.Heads;
            ln_1 = LayerNorm(s.Width, bias: false);
            c_attn = Linear(s.Width, 3 * s.Width, hasBias: false);
            attn_proj = Linear(s.Width, s.Width, hasBias: false);
            ln_2 = LayerNorm(s.Width, bias: false);
            c_fc = Linear(s.Width, 4 * s.Width, hasBias: false);
            gelu = GELU();
            mlp_proj = Linear(4 * s.Width, s.Width, hasBias: false);
            init.normal_(c_attn.weight!, 0, 0.02);
            init.normal_(c_fc.weight!, 0, 0.02);
            init.normal_(attn_proj.weight!, 0, 0.02 / Math.Sqrt(2 * s.Layers));
            init.normal_(mlp_proj.weight!, 0, 0.02 / Math.Sqrt(2 * s.Layers));
            RegisterComponents();
        }

        public override Tensor forward(Tensor x)
        {
            var (b, t, c) = (x.shape[0], x.shape[1], x.shape[2]);
            var qkv = c_attn.call(ln_1.call(x)).split(c, 2);
            var q = qkv[0].view(b, t, heads, c / heads).transpose(1, 2);
            var k = qkv[1].view(b, t, heads, c / heads).transpose(1, 2);
            var v = qkv[2].view(b, t, heads, c / heads).transpose(1, 2);
            var y = functional.scaled_dot_product_attention(q, k, v, is_casual: true).transpose(1, 2).contiguous().view(b, t, c);
            x = x + attn_proj.call(y);
            return x + mlp_proj.call(gelu.call(c_fc.call(ln_2.call(x))));
        }
    }
}
