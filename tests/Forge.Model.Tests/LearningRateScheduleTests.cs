using Forge.Model;

namespace Forge.Model.Tests;

public sealed class LearningRateScheduleTests
{
    private readonly LearningRateSchedule schedule = new(Peak: 1e-3, Minimum: 1e-4, WarmupSteps: 100, DecaySteps: 2000);

    [Fact]
    public void WarmupRisesLinearlyFromTheFirstStep()
    {
        Assert.Equal(1e-3 / 101, schedule.At(0), 15);
        Assert.Equal(1e-3 * 50 / 101, schedule.At(49), 15);
        Assert.Equal(1e-3 * 100 / 101, schedule.At(99), 15);
    }

    [Fact]
    public void ThePeakComesRightAfterWarmupAndTheCosineIsHalfwayAtTheMidpoint()
    {
        Assert.Equal(1e-3, schedule.At(100), 15);
        Assert.Equal((1e-3 + 1e-4) / 2, schedule.At(1050), 15);
    }

    [Fact]
    public void TheFloorIsReachedAtTheDecayStepAndKept()
    {
        Assert.Equal(1e-4, schedule.At(2000), 15);
        Assert.Equal(1e-4, schedule.At(2001), 15);
        Assert.Equal(1e-4, schedule.At(1_000_000), 15);
    }

    [Fact]
    public void TheRateNeverRisesAfterWarmup()
    {
        var rates = Enumerable.Range(100, 1950).Select(step => schedule.At(step)).ToArray();

        Assert.All(rates.Zip(rates.Skip(1)), pair => Assert.True(pair.Second <= pair.First));
    }
}
