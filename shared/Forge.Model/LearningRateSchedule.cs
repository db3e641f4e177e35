namespace Forge.Model;

/// <summary>
/// nanoGPT's get_lr: a linear warmup to the peak, a cosine decay to the floor at <see cref="DecaySteps"/>, then the floor.
/// Steps count from 0, the step about to be taken.
/// </summary>
public sealed record LearningRateSchedule(double Peak, double Minimum, long WarmupSteps, long DecaySteps)
{
    public static LearningRateSchedule From(TrainingConfig training) =>
        new(training.LearningRate, training.MinLearningRate, training.WarmupSteps, training.DecaySteps);

    public double At(long step)
    {
        if (step < WarmupSteps)
            return Peak * (step + 1) / (WarmupSteps + 1);
        if (step > DecaySteps)
            return Minimum;
        var progress = (double)(step - WarmupSteps) / (DecaySteps - WarmupSteps); // 0 → 1
        var cosine = 0.5 * (1 + Math.Cos(Math.PI * progress)); // 1 → 0
        return Minimum + cosine * (Peak - Minimum);
    }
}
