namespace Forge.Evaluator.Tests;

/// <summary>The example in sacrebleu's README: BLEU = 48.53 (BP = 0.943, hyp_len = 17, ref_len = 18), chrF2 = 59.73.</summary>
public static class SacrebleuReadme
{
    public static readonly string[] Hypotheses = ["The dog bit the man.", "It wasn't surprising.", "The man had just bitten him."];

    public static readonly string[][] References =
    [
        ["The dog bit the man.", "It was not unexpected.", "The man bit him first."],
        ["The dog had bit the man.", "No one was surprised.", "The man had bitten the dog."],
    ];
}
