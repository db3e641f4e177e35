using System.Text;

namespace Forge.Tokenization.Tests;

/// <summary>
/// Deterministic varied text (System.Random with a seed is stable across .NET versions): prose, code, numbers,
/// many scripts, emoji sequences, combining marks and whitespace runs, one fragment after another.
/// </summary>
public static class VariedText
{
    private static readonly string[] Prose =
    [
        "The committee met on Tuesday and decided, after a long debate, to postpone the vote.",
        "It's not that they're wrong; it's that we'd rather wait until we've seen the data.",
        "She said: \"Measure twice, cut once.\" He didn't listen, and the shelf fell down.",
        "In 1969, humans walked on the Moon for the first time; the mission lasted 8 days.",
        "Tokenizers split text into pieces that a model can count, embed and predict.",
        "WHY ARE YOU SHOUTING? I'M NOT SHOUTING, YOU'RE SHOUTING!",
        "Mr. O'Neil's dog--a terrier--barked at the mail carrier... again.",
        "To be, or not to be: that is the question. Whether 'tis nobler in the mind to suffer",
    ];

    private static readonly string[] Code =
    [
        "public static int Sum(IEnumerable<int> values) => values.Aggregate(0, (a, b) => a + b);",
        "    if (buffer.Length >= 4096 && !closed) { await stream.FlushAsync(token); }",
        "def fib(n: int) -> int:\n    return n if n < 2 else fib(n - 1) + fib(n - 2)",
        "{\"id\": 42, \"name\": \"forge\", \"tags\": [\"bpe\", \"gpt\"], \"ratio\": 0.75, \"ok\": false}",
        "<a href=\"https://example.com/a/b?c=d&e=f#g\">link</a> <!-- comment -->",
        "SELECT id, COUNT(*) FROM events WHERE created_at > '2026-01-01' GROUP BY id;",
        "for i in $(seq 1 10); do echo \"$i\" >> /tmp/out.log; done",
        "x := make(map[string][]int, 16) // Go\n\tfmt.Println(len(x))",
        "#include <stdio.h>\r\nint main(void) { printf(\"%d\\n\", 0x7fffffff); return 0; }",
    ];

    private static readonly string[] Scripts =
    [
        "Größenordnung über Straßenbahnhaltestellen", "déjà vu, façade, naïve, cœur, Noël", "¿Qué tal? ¡Muy bien!",
        "Ελληνικά γράμματα και τόνοι", "Москва — столица России, ёлка", "中文分词很难，因为没有空格。",
        "日本語のテキスト、カタカナとひらがな", "한국어 문장입니다", "العربية من اليمين إلى اليسار", "हिन्दी में लिखा गया",
        "עברית", "ไทยไม่มีช่องว่าง", "Tiếng Việt có dấu", "ქართული", "Հայերեն", "தமிழ்",
    ];

    private static readonly string[] Symbols =
    [
        "😀", "👍🏽", "👩‍💻", "👨‍👩‍👧‍👦", "🏳️‍🌈", "🇫🇷🇯🇵", "❤️", "e\u0301", "a\u0308\u0323", "Å", "∑∫√∞≠≤", "→⇒↔", "€£¥₿", "©®™",
        "½¾", "²³", "٣٤٥", "\u200b", "\ufeff", "…", "–—", "«»", "„“", "‹›",
    ];

    private static readonly string[] Whitespace = [" ", "  ", "    ", "\t", "\t\t", "\n", "\n\n", "\r\n", "   \n", "\u00a0", "\u3000", "\u2003", " \t \n "];

    public static string Generate(int seed, int length)
    {
        var random = new Random(seed);
        var text = new StringBuilder(length + 200);
        while (text.Length < length)
        {
            var fragment = random.Next(10) switch
            {
                < 4 => Prose[random.Next(Prose.Length)],
                < 6 => Code[random.Next(Code.Length)],
                6 => Number(random),
                7 => Scripts[random.Next(Scripts.Length)],
                8 => Symbols[random.Next(Symbols.Length)],
                _ => Whitespace[random.Next(Whitespace.Length)],
            };
            text.Append(fragment);
            text.Append(random.Next(6) == 0 ? "\n" : " ");
        }
        return text.ToString();
    }

    private static string Number(Random random) => random.Next(6) switch
    {
        0 => random.Next(0, 100).ToString(),
        1 => random.Next(1000, 10_000_000).ToString(),
        2 => (random.NextDouble() * 1000).ToString("F3", System.Globalization.CultureInfo.InvariantCulture),
        3 => $"{random.Next(1990, 2030)}-{random.Next(1, 13):D2}-{random.Next(1, 29):D2}",
        4 => $"0x{random.Next():X8}",
        _ => $"{random.Next(1, 999):N0},{random.Next(100, 999)}.{random.Next(10, 99)}",
    };
}
