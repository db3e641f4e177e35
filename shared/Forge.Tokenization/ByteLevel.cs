using System.Text;

namespace Forge.Tokenization;

/// <summary>
/// GPT-2's reversible mapping of the 256 byte values to printable characters, so that a byte-level
/// token can be written as a string in <c>vocab.json</c>, <c>merges.txt</c> and <c>tokenizer.json</c>
/// (the space byte 0x20 is 'Ġ', the newline 0x0A is 'Ċ').
/// </summary>
public static class ByteLevel
{
    private static readonly char[] CharOfByte = new char[256];
    private static readonly short[] ByteOfChar = new short[324];
    private static readonly int[] RankOfByte = new int[256];
    private static readonly byte[] ByteOfRank = new byte[256];

    static ByteLevel()
    {
        Array.Fill(ByteOfChar, (short)-1);
        var rank = 0;
        for (var b = 0; b < 256; b++)
        {
            if (IsPrintable(b))
                Assign(b, (char)b, rank++);
        }
        var shifted = 0;
        for (var b = 0; b < 256; b++)
        {
            if (!IsPrintable(b))
                Assign(b, (char)(256 + shifted++), rank++);
        }

        static bool IsPrintable(int b) => b is >= '!' and <= '~' or >= '¡' and <= '¬' or >= '®' and <= 'ÿ';
    }

    private static void Assign(int b, char c, int rank)
    {
        CharOfByte[b] = c;
        ByteOfChar[c] = (short)b;
        // Sorting the 256 characters by code point gives exactly this order, which is the order in which
        // Hugging Face's BpeTrainer numbers its initial alphabet.
        RankOfByte[b] = rank;
        ByteOfRank[rank] = (byte)b;
    }

    /// <summary>The printable character that stands for <paramref name="value"/>.</summary>
    public static char CharOf(byte value) => CharOfByte[value];

    /// <summary>The byte a printable character stands for, or false when it is not one of the 256.</summary>
    public static bool TryGetByte(char c, out byte value)
    {
        if (c < ByteOfChar.Length && ByteOfChar[c] >= 0)
        {
            value = (byte)ByteOfChar[c];
            return true;
        }
        value = 0;
        return false;
    }

    /// <summary>Position of <paramref name="value"/> when the 256 characters are sorted by code point.</summary>
    public static int RankOf(byte value) => RankOfByte[value];

    /// <summary>The byte at position <paramref name="rank"/> of the code-point-sorted alphabet.</summary>
    public static byte ByteAtRank(int rank) => ByteOfRank[rank];

    /// <summary>The token string of a byte sequence ("Ġthe" for " the").</summary>
    public static string ToTokenString(ReadOnlySpan<byte> bytes)
    {
        return string.Create(bytes.Length, bytes.ToArray(), static (chars, source) =>
        {
            for (var i = 0; i < source.Length; i++)
                chars[i] = CharOfByte[source[i]];
        });
    }

    /// <summary>The bytes of a token string, or null when a character is outside the byte alphabet.</summary>
    public static byte[]? TryGetBytes(string token)
    {
        var bytes = new byte[token.Length];
        for (var i = 0; i < token.Length; i++)
        {
            if (!TryGetByte(token[i], out bytes[i]))
                return null;
        }
        return bytes;
    }

    /// <summary>
    /// UTF-8 bytes of <paramref name="text"/>; a lone surrogate becomes U+FFFD (EF BF BD), as in
    /// Hugging Face's bindings, so that every string has an encoding.
    /// </summary>
    internal static int GetUtf8Bytes(ReadOnlySpan<char> text, Span<byte> destination) => Utf8.GetBytes(text, destination);

    internal static readonly UTF8Encoding Utf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: false);
}
