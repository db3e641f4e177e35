namespace Forge.Metrics;

/// <summary>A chrF or chrF++ score on sacrebleu's 0..100 scale.</summary>
public sealed record ChrFScore(double Score, int CharOrder, int WordOrder, int Beta)
{
    /// <summary>sacrebleu's name for the variant: chrF2, chrF2++ and so on.</summary>
    public string Name => $"chrF{Beta}" + new string('+', WordOrder);
}
