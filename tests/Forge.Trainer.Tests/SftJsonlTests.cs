using System.Text;
using Forge.Contracts;
using Forge.Model;
using Forge.Serving;
using Forge.Tokenization;

namespace Forge.Trainer.Tests;

/// <summary>SFT examples from JSONL: prompt and completion lines, chat lines through the chat template, and bad lines named by number and field.</summary>
public sealed class SftJsonlTests
{
    private static readonly CharTokenizer Chars = CharTokenizer.Train(["abcxyz= "]);

    private static readonly BpeTokenizer Bpe = BpeTrainer.Train(
        Enumerable.Repeat("the river and the town of the bridge ", 20),
        new BpeTrainingOptions { VocabularySize = 300, SpecialTokens = ["<|endoftext|>", "<|system|>", "<|user|>", "<|assistant|>"], MaxDegreeOfParallelism = 1 });

    private static IReadOnlyList<SftExample> Read(string jsonl, ITokenizer tokenizer, int contextLength = 64) =>
        SftJsonl.Read(new MemoryStream(Encoding.UTF8.GetBytes(jsonl)), tokenizer, contextLength);

    [Fact]
    public void PromptAndCompletionLinesAreEncodedAsTheyAreAndBlankLinesAreSkipped()
    {
        var examples = Read("{\"prompt\": \"abc=\", \"completion\": \"cba\"}\n\n   \n{\"prompt\": \"\", \"completion\": \"x y\", \"label\": true}\n", Chars);

        Assert.Equal(2, examples.Count);
        Assert.Equal(Chars.Encode("abc="), examples[0].Prompt);
        Assert.Equal(Chars.Encode("cba"), examples[0].Completion);
        Assert.Empty(examples[1].Prompt);
        Assert.Equal(Chars.Encode("x y"), examples[1].Completion);
    }

    [Fact]
    public void AChatLineIsPromptedThroughTheTemplateAndTeachesTheAssistantsLastMessage()
    {
        const string Line = """
            {"prompt": "not this", "completion": "nor this", "messages": [{"role": "system", "content": "the bridge"}, {"role": "user", "content": "the river"}, {"role": "assistant", "content": "the town"}]}
            """;

        var example = Assert.Single(Read(Line, Bpe));

        Assert.Equal("<|system|>the bridge<|endoftext|><|user|>the river<|endoftext|><|assistant|>", Bpe.Decode(example.Prompt));
        Assert.Equal(ChatTemplate.For(Bpe).Encode([new ChatTurn("system", "the bridge"), new ChatTurn("user", "the river")], 63, out _), example.Prompt);
        Assert.Equal("the town", Bpe.Decode(example.Completion));
        Assert.Equal(Bpe.TokenToId("<|endoftext|>"), SftJsonl.EndToken(Bpe));
        Assert.Null(SftJsonl.EndToken(Chars));
    }

    [Theory]
    [InlineData("{\"prompt\": \"abc\"", "line")]
    [InlineData("[1, 2]", "line")]
    [InlineData("{\"text\": \"abc\"}", "line")]
    [InlineData("{\"prompt\": \"abc\"}", "completion")]
    [InlineData("{\"prompt\": 1, \"completion\": \"a\"}", "prompt")]
    [InlineData("{\"prompt\": \"abc\", \"completion\": \"Q\"}", "completion")]
    [InlineData("{\"messages\": {\"role\": \"user\"}}", "messages")]
    [InlineData("{\"messages\": [{\"role\": \"assistant\", \"content\": \"a\"}]}", "messages")]
    [InlineData("{\"messages\": [{\"role\": \"robot\", \"content\": \"a\"}, {\"role\": \"assistant\", \"content\": \"b\"}]}", "messages[0].role")]
    [InlineData("{\"messages\": [{\"role\": \"user\"}, {\"role\": \"assistant\", \"content\": \"b\"}]}", "messages[0].content")]
    [InlineData("{\"messages\": [{\"role\": \"user\", \"content\": \"a\"}, {\"role\": \"user\", \"content\": \"b\"}]}", "messages[1].role")]
    public void ABadLineIsReportedWithItsLineNumberAndField(string line, string field)
    {
        var error = Assert.Throws<SftFormatException>(() => Read("{\"prompt\": \"abc=\", \"completion\": \"cba\"}\n" + line + "\n", Chars));

        Assert.Equal(2, error.Line);
        Assert.Equal(field, error.Field);
        Assert.StartsWith($"Line 2, {field}: ", error.Message, StringComparison.Ordinal);
        Assert.IsAssignableFrom<FormatException>(error);
    }
}
