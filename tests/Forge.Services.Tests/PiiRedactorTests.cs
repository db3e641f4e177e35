using Forge.Cleaning.Pipeline;

namespace Forge.Services.Tests;

public sealed class PiiRedactorTests
{
    [Theory]
    [InlineData("Mail jane.doe+news@example.co.uk now.", "Mail <EMAIL> now.")]
    [InlineData("Contact: a_b-c@sub.domain.org.", "Contact: <EMAIL>.")]
    [InlineData("Card 4111 1111 1111 1111 was charged.", "Card <CARD> was charged.")]
    [InlineData("Card 4111-1111-1111-1111.", "Card <CARD>.")]
    [InlineData("Amex 378282246310005 on file", "Amex <CARD> on file")]
    [InlineData("Pay to GB82 WEST 1234 5698 7654 32 today", "Pay to <IBAN> today")]
    [InlineData("IBAN DE89370400440532013000.", "IBAN <IBAN>.")]
    [InlineData("Server 192.168.10.1 is down", "Server <IP_ADDRESS> is down")]
    [InlineData("From 8.8.8.8, then 10.0.0.255.", "From <IP_ADDRESS>, then <IP_ADDRESS>.")]
    [InlineData("Host 2001:db8:85a3::8a2e:370:7334 answered", "Host <IP_ADDRESS> answered")]
    [InlineData("Loopback ::1 and fe80::1ff:fe23:4567:890a%eth0", "Loopback ::1 and <IP_ADDRESS>")]
    [InlineData("Call +1 415 555 2671 or (415) 555-2671.", "Call <PHONE> or <PHONE>.")]
    [InlineData("Ring 020 7946 0958 after six", "Ring <PHONE> after six")]
    [InlineData("Phone 415-555-2671 today", "Phone <PHONE> today")]
    public void PersonalDataIsReplacedByPlaceholders(string input, string expected)
    {
        Assert.Equal(expected, PiiRedactor.Redact(input).Text);
    }

    [Theory]
    [InlineData("Upgrade to version 1.2.3.4 or v10.0.0.1 before build 4.2.0.1.")]
    [InlineData("Released 2024-01-15, patched 15/01/2024 and 01-15-2024.")]
    [InlineData("It costs $1,234.56 or €99.99, about 1234567 yen.")]
    [InlineData("The meeting runs 12:30:45 to 14:00, ratio 3:2:1.")]
    [InlineData("Order 1234 5678 9012 3456 is not a card because its checksum fails.")]
    [InlineData("Pi is 3.14159265358979 and e is 2.718281828.")]
    [InlineData("Section 4.1.2.3 explains the pipeline; see RFC 2616.")]
    [InlineData("The ISBN 978-3-16-148410-0 and the year 1999.")]
    [InlineData("An @mention and user@localhost are not addresses we redact.")]
    [InlineData("Words: Hello, world. Nothing personal here at all.")]
    public void OrdinaryTextIsLeftAlone(string input)
    {
        var result = PiiRedactor.Redact(input);

        Assert.Equal(input, result.Text);
        Assert.Equal(0, result.Total);
    }

    [Fact]
    public void RedactionsAreCountedByKind()
    {
        var result = PiiRedactor.Redact("a@b.io, c@d.io, 4111111111111111 and 127.0.0.1");

        Assert.Equal(2, result.Emails);
        Assert.Equal(1, result.Cards);
        Assert.Equal(1, result.IpAddresses);
        Assert.Equal(4, result.Total);
    }

    [Theory]
    [InlineData("4111111111111111", true)]
    [InlineData("4111111111111112", false)]
    [InlineData("0000000000000000", false)]
    [InlineData("123456789012", false)]
    public void CardNumbersAreLuhnChecked(string digits, bool valid)
    {
        Assert.Equal(valid, PiiRedactor.IsCard(digits));
    }

    [Theory]
    [InlineData("GB82WEST12345698765432", true)]
    [InlineData("GB82WEST12345698765433", false)]
    [InlineData("FR1420041010050500013M02606", true)]
    public void IbansAreMod97Checked(string iban, bool valid)
    {
        Assert.Equal(valid, PiiRedactor.IsIban(iban));
    }
}
