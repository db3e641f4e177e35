using System.Net;
using System.Net.Sockets;
using System.Text.RegularExpressions;

namespace Forge.Cleaning.Pipeline;

/// <summary>
/// Replaces personal data with placeholders: e-mail addresses, payment card numbers (Luhn-checked), IBANs
/// (mod-97-checked), IPv6 and IPv4 addresses, and phone numbers. Every candidate is validated beyond its shape,
/// so version numbers, dates, prices and times stay as they are.
/// </summary>
public static partial class PiiRedactor
{
    public const string Email = "<EMAIL>";
    public const string Card = "<CARD>";
    public const string Iban = "<IBAN>";
    public const string IpAddress = "<IP_ADDRESS>";
    public const string Phone = "<PHONE>";

    public sealed record Redaction(string Text, int Emails, int Cards, int Ibans, int IpAddresses, int Phones)
    {
        public int Total => Emails + Cards + Ibans + IpAddresses + Phones;
    }

    [GeneratedRegex(@"(?<![\w.+%-])[A-Za-z0-9][A-Za-z0-9._%+-]*@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*\.[A-Za-z]{2,24}(?![\w-])")]
    private static partial Regex EmailPattern();

    [GeneratedRegex(@"(?<![\w.,/-])\d(?:[ -]?\d){12,18}(?![\w/]|[.,]\d|[ -]\d)")]
    private static partial Regex CardPattern();

    [GeneratedRegex(@"(?<![\w])[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,3})?(?![\w])")]
    private static partial Regex IbanPattern();

    [GeneratedRegex(@"(?<![\w:.])(?:[0-9A-Fa-f]{1,4}:|:){1,7}(?::|(?::[0-9A-Fa-f]{1,4}){1,7}|[0-9A-Fa-f]{1,4})(?:%\w+)?(?![\w:])")]
    private static partial Regex Ipv6Pattern();

    [GeneratedRegex(@"(?<![\w.])(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(?![\w]|\.\d)")]
    private static partial Regex Ipv4Pattern();

    [GeneratedRegex(@"(?<![\w+])(?:\+\d{1,3}[ .-]?(?:\(\d{1,4}\)[ .-]?)?\d{1,4}(?:[ .-]?\d{1,4}){1,5}|\(\d{3}\) ?\d{3}[-. ]\d{4}|\d{3}[-.]\d{3}[-.]\d{4}|0\d{1,4}[ -]\d{2,4}(?:[ -]\d{2,4}){1,3})(?![\w]|[.-]\d)")]
    private static partial Regex PhonePattern();

    [GeneratedRegex(@"(?:\bv|\bversion|\brelease|\bbuild|\bver\.?|\bsection|\bchapter|\bfigure|\bfig\.|\btable|\bstep|\bclause|\bpart|\bitem|§)\s*$", RegexOptions.IgnoreCase)]
    private static partial Regex VersionContext();

    public static Redaction Redact(string text)
    {
        int emails = 0, cards = 0, ibans = 0, ips = 0, phones = 0;
        if (text.Contains('@'))
            text = EmailPattern().Replace(text, _ => { emails++; return Email; });
        if (!text.AsSpan().ContainsAnyInRange('0', '9'))
            return new Redaction(text, emails, 0, 0, 0, 0);
        text = IbanPattern().Replace(text, m => IsIban(m.Value) ? Count(ref ibans, Iban) : m.Value);
        text = CardPattern().Replace(text, m => IsCard(m.Value) ? Count(ref cards, Card) : m.Value);
        if (text.Contains(':'))
            text = Ipv6Pattern().Replace(text, m => IsIpv6(m.Value) ? Count(ref ips, IpAddress) : m.Value);
        text = Ipv4Pattern().Replace(text, m => IsIpv4InContext(text, m) ? Count(ref ips, IpAddress) : m.Value);
        text = PhonePattern().Replace(text, m => IsPhone(m.Value) ? Count(ref phones, Phone) : m.Value);
        return new Redaction(text, emails, cards, ibans, ips, phones);
    }

    private static string Count(ref int counter, string placeholder)
    {
        counter++;
        return placeholder;
    }

    /// <summary>13 to 19 digits whose Luhn checksum holds.</summary>
    public static bool IsCard(string candidate)
    {
        Span<int> digits = stackalloc int[19];
        var count = 0;
        foreach (var c in candidate)
        {
            if (char.IsAsciiDigit(c))
            {
                if (count == 19)
                    return false;
                digits[count++] = c - '0';
            }
        }
        if (count < 13)
            return false;
        var sum = 0;
        for (var i = 0; i < count; i++)
        {
            var digit = digits[count - 1 - i];
            if (i % 2 == 1)
            {
                digit *= 2;
                if (digit > 9)
                    digit -= 9;
            }
            sum += digit;
        }
        // All-same digits (0000 0000 ...) pass Luhn but are placeholders, not cards.
        return sum % 10 == 0 && digits[..count].ContainsAnyExcept(digits[0]);
    }

    /// <summary>ISO 13616: 15 to 34 characters, the mod-97 check equals 1.</summary>
    public static bool IsIban(string candidate)
    {
        var compact = candidate.Replace(" ", "", StringComparison.Ordinal);
        if (compact.Length is < 15 or > 34)
            return false;
        var rearranged = compact[4..] + compact[..4];
        var remainder = 0;
        foreach (var c in rearranged)
        {
            var value = char.IsAsciiDigit(c) ? c - '0' : char.IsAsciiLetterUpper(c) ? c - 'A' + 10 : -1;
            if (value < 0)
                return false;
            remainder = value >= 10 ? (remainder * 100 + value) % 97 : (remainder * 10 + value) % 97;
        }
        return remainder == 1;
    }

    private static bool IsIpv6(string candidate)
    {
        // Times (12:30:45) and ratios have too few groups; a real address parses and has at least three groups or "::".
        var groups = candidate.Split(':', StringSplitOptions.RemoveEmptyEntries).Length;
        if (groups < 3 && !(candidate.Contains("::", StringComparison.Ordinal) && groups >= 2))
            return false;
        return IPAddress.TryParse(candidate, out var address) && address.AddressFamily == AddressFamily.InterNetworkV6;
    }

    private static bool IsIpv4InContext(string text, Match match)
    {
        // "version 1.2.3.4", "v10.0.0.1", "build 4.2.0.1" and "section 4.1.2.3" are versions and numbering, not addresses.
        var before = text.AsSpan(Math.Max(0, match.Index - 12), Math.Min(12, match.Index));
        return !VersionContext().IsMatch(before);
    }

    private static bool IsPhone(string candidate)
    {
        var digits = 0;
        foreach (var c in candidate)
        {
            if (char.IsAsciiDigit(c))
                digits++;
        }
        if (candidate.StartsWith('+'))
            return digits is >= 8 and <= 15;
        return digits is >= 9 and <= 12;
    }
}
