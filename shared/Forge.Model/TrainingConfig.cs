namespace Forge.Model;

/// <summary>
/// How to train, after nanoGPT's train.py settings. The defaults are its small character-level recipe
/// (train_shakespeare_char at CPU scale); a recipe overrides what it needs.
/// </summary>
public sealed record TrainingConfig
{
    /// <summary>Sequences per micro-batch.</summary>
    public int BatchSize { get; init; } = 12;

    /// <summary>Micro-batches whose gradients add up to one optimizer step (a larger effective batch in the same memory).</summary>
    public int GradientAccumulationSteps { get; init; } = 1;

    /// <summary>Optimizer steps in the whole run.</summary>
    public long MaxSteps { get; init; } = 2000;

    /// <summary>Peak learning rate, reached at the end of the warmup.</summary>
    public double LearningRate { get; init; } = 1e-3;

    /// <summary>Floor of the cosine decay; nanoGPT uses a tenth of the peak.</summary>
    public double MinLearningRate { get; init; } = 1e-4;

    public long WarmupSteps { get; init; } = 100;

    /// <summary>Step at which the cosine reaches the floor (lr_decay_iters); usually MaxSteps.</summary>
    public long DecaySteps { get; init; } = 2000;

    /// <summary>Decoupled (AdamW) weight decay, applied only to parameters with two or more dimensions.</summary>
    public double WeightDecay { get; init; } = 0.1;

    public double Beta1 { get; init; } = 0.9;

    /// <summary>0.99 suits small batches of few tokens; nanoGPT uses 0.95 for GPT-2 scale.</summary>
    public double Beta2 { get; init; } = 0.99;

    public double Epsilon { get; init; } = 1e-8;

    /// <summary>Largest global gradient norm; 0 turns clipping off.</summary>
    public double GradientClip { get; init; } = 1.0;

    /// <summary>Steps between validation runs (and one at the last step); 0 turns them off.</summary>
    public int EvaluationInterval { get; init; } = 250;

    /// <summary>Batches per validation run. The windows are the same at every run, so runs compare like with like.</summary>
    public int EvaluationBatches { get; init; } = 20;

    /// <summary>Steps between progress events.</summary>
    public int LogInterval { get; init; } = 10;

    /// <summary>Steps between CheckpointDue events; 0 turns them off.</summary>
    public int CheckpointInterval { get; init; }

    /// <summary>Seeds torch (initial weights, dropout) and the batch sampler; the same seed repeats a run exactly on the CPU.</summary>
    public long Seed { get; init; } = 1337;

    /// <summary>libtorch intra-op threads; 0 keeps its default (one per core). This is a process-wide setting.</summary>
    public int Threads { get; init; }

    /// <summary>auto (CUDA when present), cpu, cuda or cuda:N.</summary>
    public string Device { get; init; } = "auto";

    /// <summary>auto (bf16 matmuls on a CUDA device that supports them, else fp32), fp32 or bf16.</summary>
    public string Precision { get; init; } = "auto";

    public long TokensPerStep(int contextLength) => (long)BatchSize * GradientAccumulationSteps * contextLength;

    public IReadOnlyList<string> Problems()
    {
        var problems = new List<string>();
        void Positive(string name, double value)
        {
            if (!(value > 0))
                problems.Add($"{name} must be positive (got {value}).");
        }
        void NotNegative(string name, double value)
        {
            if (!(value >= 0))
                problems.Add($"{name} must not be negative (got {value}).");
        }

        Positive(nameof(BatchSize), BatchSize);
        Positive(nameof(GradientAccumulationSteps), GradientAccumulationSteps);
        Positive(nameof(MaxSteps), MaxSteps);
        Positive(nameof(LearningRate), LearningRate);
        NotNegative(nameof(MinLearningRate), MinLearningRate);
        if (MinLearningRate > LearningRate)
            problems.Add($"MinLearningRate ({MinLearningRate}) must not exceed LearningRate ({LearningRate}).");
        NotNegative(nameof(WarmupSteps), WarmupSteps);
        if (DecaySteps <= WarmupSteps)
            problems.Add($"DecaySteps ({DecaySteps}) must come after WarmupSteps ({WarmupSteps}).");
        NotNegative(nameof(WeightDecay), WeightDecay);
        if (Beta1 is < 0 or >= 1 || double.IsNaN(Beta1))
            problems.Add($"Beta1 must be in [0, 1) (got {Beta1}).");
        if (Beta2 is < 0 or >= 1 || double.IsNaN(Beta2))
            problems.Add($"Beta2 must be in [0, 1) (got {Beta2}).");
        Positive(nameof(Epsilon), Epsilon);
        NotNegative(nameof(GradientClip), GradientClip);
        NotNegative(nameof(EvaluationInterval), EvaluationInterval);
        if (EvaluationInterval > 0)
            Positive(nameof(EvaluationBatches), EvaluationBatches);
        Positive(nameof(LogInterval), LogInterval);
        NotNegative(nameof(CheckpointInterval), CheckpointInterval);
        NotNegative(nameof(Threads), Threads);
        if (!ComputePrecision.IsKnown(Precision))
            problems.Add($"Precision '{Precision}' is not known; use auto, fp32 or bf16.");
        return problems;
    }

    public void Validate()
    {
        var problems = Problems();
        if (problems.Count > 0)
            throw new ArgumentException("The training configuration is not valid: " + string.Join(" ", problems));
    }
}
