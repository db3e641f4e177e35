namespace Forge.Services.Tests;

/// <summary>
/// A small folder as a build names it: a fortune file cut at "%" lines, with the binary index and the .u8 link that
/// Debian's fortune files come with, a .txt, a .md, and a binary file that cannot be read as text.
/// </summary>
public static class BuildCorpus
{
    public static readonly string[] Fortunes =
    [
        "A penny saved is a penny earned.",
        "Look before you leap;\nthen leap.",
        "The early bird gets the worm, but the second mouse gets the cheese.",
    ];

    public const string Notes = "Notes from the harvest: the orchard gave twice as many apples as last year.\nThe pears were late.";
    public const string GuideText = "Read the fine manual before asking.";

    /// <summary>Writes the files under <paramref name="root"/>; returns the path of the one that must be skipped.</summary>
    public static string Write(string root)
    {
        var fortunes = Directory.CreateDirectory(Path.Combine(root, "fortunes")).FullName;
        var wisdom = Path.Combine(fortunes, "wisdom");
        // Empty and blank blocks between separators are dropped; a separator line may carry spaces.
        File.WriteAllText(wisdom, $"{Fortunes[0]}\n%\n{Fortunes[1]}\n%\n%\n   \n% \n{Fortunes[2]}\n%\n");
        File.WriteAllBytes(wisdom + ".dat", [0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 64, 0, 0, 0, 0]);
        File.CreateSymbolicLink(wisdom + ".u8", wisdom);
        File.WriteAllText(Path.Combine(root, "notes.txt"), Notes);
        File.WriteAllText(Path.Combine(root, "guide.md"), $"# Guide\n\n{GuideText.Replace("fine", "*fine*", StringComparison.Ordinal)}\n");
        var binary = Path.Combine(root, "photo.bin");
        File.WriteAllBytes(binary, [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 0x0D]);
        return binary;
    }
}
