using Forge.Cleaning.Pipeline;

namespace Forge.Services.Tests;

public sealed class MojibakeRepairTests
{
    [Theory]
    [InlineData("cafÃ©", "café")]
    [InlineData("Itâ€™s â€œquotedâ€\u009d", "It’s “quoted”")]
    [InlineData("naÃ¯ve faÃ§ade", "naïve façade")]
    [InlineData("â‚¬10", "€10")]
    [InlineData("emoji ðŸ˜€ here", "emoji 😀 here")]
    public void UtfEightReadAsWindows1252IsRepaired(string broken, string repaired)
    {
        Assert.Equal(repaired, MojibakeRepair.Repair(broken));
    }

    [Theory]
    [InlineData("café naïve façade")]
    [InlineData("Ångström, Øresund, Ñandú")]
    [InlineData("À la carte: « très bien »")]
    [InlineData("plain ASCII")]
    public void CorrectTextIsNotTouched(string text)
    {
        Assert.Equal(text, MojibakeRepair.Repair(text));
    }
}
