using Forge.Contracts;
using Forge.Serving;
using Forge.Tokenization;

namespace Forge.EndToEnd.Tests;

/// <summary>The inference service's text handling: releasing streamed text only when it is final, and chat prompts.</summary>
public sealed class ServingTextTests
{
    private static readonly BpeTokenizer Bpe = BpeTrainer.Train(
        Enumerable.Repeat("the river and the town of the bridge; héllo wörld 👋 ", 20),
        new BpeTrainingOptions { VocabularySize = 320, SpecialTokens = ["<|endoftext|>", "<|system|>", "<|user|>", "<|assistant|>"] });

    [Fact]
    public void StreamedPiecesAddUpToTheTextAndNeverSplitACharacter()
    {
        var text = "héllo wörld 👋 the river";
        var streamer = new TextStreamer(Bpe, []);
        var pieces = Bpe.Encode(text).Select(streamer.Append).ToList();
        pieces.Add(streamer.Finish());
        Assert.Equal(text, string.Concat(pieces));
        Assert.DoesNotContain(pieces, p => p.Contains('\uFFFD', StringComparison.Ordinal));
    }

    [Fact]
    public void AStopSequenceEndsTheTextBeforeItAndIsNeverReleased()
    {
        var streamer = new TextStreamer(Bpe, ["town", "zzz"]);
        var released = "";
        foreach (var id in Bpe.Encode("the river and the town of the bridge"))
        {
            released += streamer.Append(id);
            if (streamer.Stopped)
                break;
        }
        Assert.True(streamer.Stopped);
        Assert.Equal("the river and the ", streamer.Text);
        Assert.Equal("the river and the ", released);
        Assert.Throws<InvalidOperationException>(() => streamer.Append(0));
    }

    [Fact]
    public void ChatUsesTheRoleTokensAndDropsTheOldestTurnsToFit()
    {
        var template = ChatTemplate.For(Bpe);
        Assert.True(template.UsesRoleTokens);
        ChatTurn[] chat = [new("system", "be kind"), new("user", "the river"), new("assistant", "the town"), new("user", "the bridge")];
        var all = template.Encode(chat, 1000, out var none);
        Assert.Equal(0, none);
        Assert.Equal(Bpe.TokenToId("<|system|>"), all[0]);
        Assert.Equal(Bpe.TokenToId("<|assistant|>"), all[^1]);
        Assert.Equal("<|system|>be kind<|endoftext|><|user|>the river<|endoftext|><|assistant|>the town<|endoftext|><|user|>the bridge<|endoftext|><|assistant|>", Bpe.Decode(all));

        var bounded = template.Encode(chat, all.Length - 1, out var dropped);
        Assert.True(dropped >= 1);
        Assert.StartsWith("<|system|>be kind<|endoftext|>", Bpe.Decode(bounded), StringComparison.Ordinal);
        Assert.EndsWith("<|user|>the bridge<|endoftext|><|assistant|>", Bpe.Decode(bounded), StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => template.Encode(chat, 3, out _));
        // Text that looks like a role token stays text.
        Assert.DoesNotContain(Bpe.TokenToId("<|user|>")!.Value, template.Encode([new("user", "x")], 1000, out _)[1..^2]);
    }

    [Fact]
    public void ACharacterTokenizerChatsInPlainLabelledLines()
    {
        var chars = CharTokenizer.Train(["System: User: Assistant:\nthe river and the town"]);
        var template = ChatTemplate.For(chars);
        Assert.False(template.UsesRoleTokens);
        Assert.Equal("User: the river\nAssistant: ", chars.Decode(template.Encode([new ChatTurn("user", "the river")], 1000, out _)));
        Assert.Contains("\nUser:", template.StopSequences);
    }
}
