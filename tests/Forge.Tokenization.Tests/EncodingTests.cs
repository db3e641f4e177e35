using System.Text;

namespace Forge.Tokenization.Tests;

public sealed class EncodingTests
{
    private static readonly BpeTokenizer Tokenizer = TrainedTokenizer.Instance;

    [Fact]
    public void RandomUnicodeRoundTripsAcrossAllPlanes()
    {
        var random = new Random(7);
        for (var i = 0; i < 3000; i++)
        {
            var text = new StringBuilder();
            for (var n = random.Next(0, 30); n > 0; n--)
                text.Append(RandomScalar(random));
            var s = text.ToString();

            Assert.Equal(s, Tokenizer.Decode(Tokenizer.Encode(s)));
        }
    }

    [Theory]
    [InlineData("👩‍💻👨‍👩‍👧‍👦🏳️‍🌈🇫🇷🇯🇵👍🏽❤️")]
    [InlineData("e\u0301 a\u0308\u0323 \u0915\u094d\u0937 Å ñ")]
    [InlineData("   \t\t\n\n\r\n \u00a0\u3000\u2003\u2028\u2029 \v\f ")]
    [InlineData("𝐀𝐁𝐂 𝟙𝟚𝟛 𐌰𐌱 \U0010FFFD \uE000 \uFFFF")]
    [InlineData("<|endoftext|><|endoftext|>x<|endoftext|")]
    [InlineData("")]
    public void UnusualTextRoundTrips(string text)
    {
        Assert.Equal(text, Tokenizer.Decode(Tokenizer.Encode(text)));
    }

    [Fact]
    public void EmojiSequencesAndWhitespaceRunsRoundTripInRandomMixes()
    {
        string[] pieces = ["👩‍💻", "👨‍👩‍👧‍👦", "🏳️‍🌈", "👍🏿", "🇺🇳", "\u200d", "\ufe0f", "\u0301", "\u0323", " ", "\t", "\n", "\r\n", "    ", "a", "'s", "1"];
        var random = new Random(11);
        for (var i = 0; i < 2000; i++)
        {
            var s = string.Concat(Enumerable.Range(0, random.Next(1, 25)).Select(_ => pieces[random.Next(pieces.Length)]));

            Assert.Equal(s, Tokenizer.Decode(Tokenizer.Encode(s)));
        }
    }

    [Fact]
    public void ALoneSurrogateDecodesAsTheReplacementCharacter()
    {
        var ids = Tokenizer.Encode("a\ud800b\udc00");

        Assert.Equal("a\ufffdb\ufffd", Tokenizer.Decode(ids));
        Assert.Equal(Tokenizer.Encode("a\ufffdb\ufffd"), ids);
    }

    [Fact]
    public void SpecialTokensAreMatchedBeforePreTokenisation()
    {
        var endOfText = Tokenizer.TokenToId("<|endoftext|>")!.Value;
        var user = Tokenizer.TokenToId("<|user|>")!.Value;

        var ids = Tokenizer.Encode("hello<|endoftext|><|user|> world<|endoftext");

        Assert.Equal([.. Tokenizer.Encode("hello"), endOfText, user, .. Tokenizer.Encode(" world<|endoftext")], ids);
    }

    [Fact]
    public void EncodingEqualsANaiveMergeLoopOnShortAndLongSpans()
    {
        var random = new Random(13);
        string[] pieces = ["a", "aa", "the", " ", "    ", "\n", "1", "99", "é", "中", "😀", "in", "g", ",", "ab"];
        for (var i = 0; i < 300; i++)
        {
            // Up to ~2,000 characters: long spans (runs of spaces, letters, digits) take the heap path.
            var s = string.Concat(Enumerable.Range(0, random.Next(1, i < 250 ? 40 : 800)).Select(_ => pieces[random.Next(pieces.Length)]));

            Assert.Equal(NaiveEncode(Tokenizer, s), Tokenizer.Encode(s));
        }
    }

    [Fact]
    public void BatchEncodingEqualsEncodingOneByOne()
    {
        var documents = VariedText.Generate(21, 100_000).Split('\n');

        var batch = Tokenizer.EncodeBatch(documents);

        Assert.Equal(documents.Select(Tokenizer.Encode), batch);
    }

    [Fact]
    public void EncodingGivesTheSameIdsAfterTheCacheStartsOver()
    {
        var words = Enumerable.Range(0, BpeTokenizer.CacheCapacity + 10).Select(i => $" w{i:x}q").ToArray();
        var before = Tokenizer.Encode(" wabq wfffq");

        foreach (var word in words)
            Tokenizer.Encode(word);

        Assert.Equal(before, Tokenizer.Encode(" wabq wfffq"));
    }

    [Fact]
    public void DecodingAnIdOutsideTheVocabularyIsRefused()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => Tokenizer.Decode([1, Tokenizer.VocabularySize]));
    }

    [Fact]
    public void DecodingPartOfACharacterGivesTheReplacementCharacter()
    {
        var leadByteOfAnEmoji = Tokenizer.TokenToId(ByteLevel.CharOf(0xF0).ToString())!.Value;

        Assert.Equal("a\ufffd", Tokenizer.Decode([Tokenizer.TokenToId("a")!.Value, leadByteOfAnEmoji]));
    }

    /// <summary>The definition: pre-tokenise, then merge the lowest-ranked pair (leftmost first) until none is left.</summary>
    private static int[] NaiveEncode(BpeTokenizer tokenizer, string text)
    {
        var ranks = tokenizer.MergeIds.Select((m, rank) => (m, rank)).ToDictionary(x => (x.m.Left, x.m.Right), x => (x.rank, x.m.Merged));
        var ids = new List<int>();
        foreach (var (start, length) in tokenizer.PreTokenizer.Split(text))
        {
            var symbols = Encoding.UTF8.GetBytes(text.Substring(start, length)).Select(b => tokenizer.TokenToId(ByteLevel.CharOf(b).ToString())!.Value).ToList();
            while (true)
            {
                var best = (Rank: int.MaxValue, At: -1, Merged: -1);
                for (var i = 0; i + 1 < symbols.Count; i++)
                {
                    if (ranks.TryGetValue((symbols[i], symbols[i + 1]), out var merge) && merge.rank < best.Rank)
                        best = (merge.rank, i, merge.Merged);
                }
                if (best.At < 0)
                    break;
                symbols[best.At] = best.Merged;
                symbols.RemoveAt(best.At + 1);
            }
            ids.AddRange(symbols);
        }
        return [.. ids];
    }

    private static string RandomScalar(Random random)
    {
        // Mostly assigned blocks of every plane, some unassigned and private-use code points too.
        var value = random.Next(8) switch
        {
            0 => random.Next(0, 0x80),
            1 => random.Next(0x80, 0x800),
            2 => random.Next(0x800, 0xD800),
            3 => random.Next(0xE000, 0x10000),
            4 => random.Next(0x1F300, 0x1FAFF),
            5 => random.Next(0x1D400, 0x1D800),
            6 => random.Next(0x20000, 0x2FFFF),
            _ => random.Next(0x10000, 0x110000),
        };
        return char.ConvertFromUtf32(value);
    }
}
