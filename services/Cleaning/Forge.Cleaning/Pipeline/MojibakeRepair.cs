using System.Text;
using System.Text.RegularExpressions;

namespace Forge.Cleaning.Pipeline;

/// <summary>
/// Repairs the commonest mojibake: UTF-8 bytes that were decoded as Windows-1252 or Latin-1 ("cafÃ©" for
/// "café", "â€™" for "’"). A suspicious run is turned back into bytes and decoded as UTF-8; the repair is kept
/// only when those bytes are valid UTF-8, so correct accented text is never touched.
/// </summary>
public static partial class MojibakeRepair
{
    // A UTF-8 lead byte seen as cp1252 (Â..ß, à..ï, ð..ô) followed by exactly as many continuation bytes
    // (0x80-0xBF, as Latin-1 or as their cp1252 renderings) as the lead byte announces.
    private const string Continuation = "[\u0080-\u00BF\u0152\u0153\u0160\u0161\u0178\u017D\u017E\u0192\u02C6\u02DC\u2013\u2014\u2018-\u201A\u201C-\u201E\u2020-\u2022\u2026\u2030\u2039\u203A\u20AC\u2122]";

    [GeneratedRegex("[\u00C2-\u00DF]" + Continuation + "|[\u00E0-\u00EF]" + Continuation + "{2}|[\u00F0-\u00F4]" + Continuation + "{3}")]
    private static partial Regex SuspiciousRun();

    private static readonly Encoding StrictUtf8 = new UTF8Encoding(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    public static string Repair(string text)
    {
        if (!text.AsSpan().ContainsAnyInRange('\u00C2', '\u00F4'))
            return text;
        return SuspiciousRun().Replace(text, match =>
        {
            Span<byte> bytes = stackalloc byte[4];
            for (var i = 0; i < match.Length; i++)
            {
                if (!TryToCp1252Byte(match.Value[i], out bytes[i]))
                    return match.Value;
            }
            try
            {
                var decoded = StrictUtf8.GetString(bytes[..match.Length]);
                return decoded.Length == 1 || char.IsSurrogatePair(decoded, 0) ? decoded : match.Value;
            }
            catch (DecoderFallbackException)
            {
                return match.Value;
            }
        });
    }

    /// <summary>The byte that Windows-1252 (or Latin-1, for its undefined slots) renders as <paramref name="c"/>.</summary>
    private static bool TryToCp1252Byte(char c, out byte value)
    {
        if (c <= '\u00FF')
        {
            value = (byte)c;
            return true;
        }
        value = c switch
        {
            '\u20AC' => 0x80, '\u201A' => 0x82, '\u0192' => 0x83, '\u201E' => 0x84, '\u2026' => 0x85, '\u2020' => 0x86,
            '\u2021' => 0x87, '\u02C6' => 0x88, '\u2030' => 0x89, '\u0160' => 0x8A, '\u2039' => 0x8B, '\u0152' => 0x8C,
            '\u017D' => 0x8E, '\u2018' => 0x91, '\u2019' => 0x92, '\u201C' => 0x93, '\u201D' => 0x94, '\u2022' => 0x95,
            '\u2013' => 0x96, '\u2014' => 0x97, '\u02DC' => 0x98, '\u2122' => 0x99, '\u0161' => 0x9A, '\u203A' => 0x9B,
            '\u0153' => 0x9C, '\u017E' => 0x9E, '\u0178' => 0x9F,
            _ => 0,
        };
        return value != 0;
    }
}
