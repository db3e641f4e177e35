using System.Buffers.Binary;
using System.IO.MemoryMappedFiles;
using System.Text;

namespace Forge.Tokenization;

/// <summary>
/// The token shard format (version 1), written by the tokenizer service and read by the trainer and evaluator.
/// Little endian throughout:
/// <code>
///   offset  size  field
///        0     8  magic "FGTOKENS"
///        8     4  format version (1)
///       12     4  bytes per token: 2 (uint16, while the vocabulary fits) or 4 (uint32)
///       16     4  vocabulary size
///       20     4  separator token id (written between documents)
///       24     8  token count
///       32     8  document count
///       40     2  tokenizer id length in UTF-8 bytes (at most 200)
///       42   200  tokenizer id, zero padded
///      242    14  reserved, zero
///      256     …  tokens
/// </code>
/// </summary>
public sealed record TokenShardHeader(int BytesPerToken, int VocabularySize, int SeparatorId, long TokenCount, long DocumentCount, string TokenizerId)
{
    public const int Size = 256;
    public const int Version = 1;
    public const int MaxTokenizerIdBytes = 200;
    private static ReadOnlySpan<byte> Magic => "FGTOKENS"u8;

    /// <summary>uint16 while every id fits, as nanoGPT does; uint32 beyond.</summary>
    public static int BytesPerTokenFor(int vocabularySize) => vocabularySize <= ushort.MaxValue + 1 ? 2 : 4;

    public void WriteTo(Span<byte> destination)
    {
        destination[..Size].Clear();
        Magic.CopyTo(destination);
        BinaryPrimitives.WriteInt32LittleEndian(destination[8..], Version);
        BinaryPrimitives.WriteInt32LittleEndian(destination[12..], BytesPerToken);
        BinaryPrimitives.WriteInt32LittleEndian(destination[16..], VocabularySize);
        BinaryPrimitives.WriteInt32LittleEndian(destination[20..], SeparatorId);
        BinaryPrimitives.WriteInt64LittleEndian(destination[24..], TokenCount);
        BinaryPrimitives.WriteInt64LittleEndian(destination[32..], DocumentCount);
        var id = Encoding.UTF8.GetBytes(TokenizerId);
        if (id.Length > MaxTokenizerIdBytes)
            throw new ArgumentException($"A tokenizer id has at most {MaxTokenizerIdBytes} UTF-8 bytes.");
        BinaryPrimitives.WriteUInt16LittleEndian(destination[40..], (ushort)id.Length);
        id.CopyTo(destination[42..]);
    }

    public static TokenShardHeader Read(ReadOnlySpan<byte> source)
    {
        if (source.Length < Size || !source[..8].SequenceEqual(Magic))
            throw new InvalidDataException("Not a Forge token shard (bad magic).");
        var version = BinaryPrimitives.ReadInt32LittleEndian(source[8..]);
        if (version != Version)
            throw new InvalidDataException($"Token shard format version {version} is not supported (expected {Version}).");
        var width = BinaryPrimitives.ReadInt32LittleEndian(source[12..]);
        if (width is not (2 or 4))
            throw new InvalidDataException($"Token shard has {width} bytes per token; expected 2 or 4.");
        var idLength = BinaryPrimitives.ReadUInt16LittleEndian(source[40..]);
        if (idLength > MaxTokenizerIdBytes)
            throw new InvalidDataException("Token shard tokenizer id is too long.");
        var header = new TokenShardHeader(
            width,
            BinaryPrimitives.ReadInt32LittleEndian(source[16..]),
            BinaryPrimitives.ReadInt32LittleEndian(source[20..]),
            BinaryPrimitives.ReadInt64LittleEndian(source[24..]),
            BinaryPrimitives.ReadInt64LittleEndian(source[32..]),
            Encoding.UTF8.GetString(source.Slice(42, idLength)));
        if (header.TokenCount < 0 || header.DocumentCount < 0)
            throw new InvalidDataException("Token shard counts are negative.");
        return header;
    }
}

/// <summary>Writes a shard to a seekable stream: documents are appended, separated by the separator token; counts are filled in on completion.</summary>
public sealed class TokenShardWriter : IDisposable
{
    private readonly Stream _output;
    private readonly int _vocabularySize;
    private readonly int _separatorId;
    private readonly string _tokenizerId;
    private readonly int _bytesPerToken;
    private readonly byte[] _buffer = new byte[1 << 16];
    private int _buffered;
    private long _tokens;
    private long _documents;
    private bool _completed;

    public TokenShardWriter(Stream output, int vocabularySize, int separatorId, string tokenizerId)
    {
        if (!output.CanSeek || !output.CanWrite)
            throw new ArgumentException("A token shard is written to a writable, seekable stream.", nameof(output));
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(vocabularySize);
        if (separatorId < 0 || separatorId >= vocabularySize)
            throw new ArgumentOutOfRangeException(nameof(separatorId), "The separator must be a token of the vocabulary.");
        _output = output;
        _vocabularySize = vocabularySize;
        _separatorId = separatorId;
        _tokenizerId = tokenizerId;
        _bytesPerToken = TokenShardHeader.BytesPerTokenFor(vocabularySize);
        _output.Write(new byte[TokenShardHeader.Size]);
    }

    public long TokenCount => _tokens;
    public long DocumentCount => _documents;

    /// <summary>Appends one document's tokens, preceded by the separator for every document after the first.</summary>
    public void AppendDocument(ReadOnlySpan<int> tokens)
    {
        ObjectDisposedException.ThrowIf(_completed, this);
        if (_documents > 0)
            Append(_separatorId);
        foreach (var token in tokens)
        {
            if ((uint)token >= (uint)_vocabularySize)
                throw new ArgumentOutOfRangeException(nameof(tokens), $"Token {token} is outside the vocabulary of {_vocabularySize}.");
            Append(token);
        }
        _documents++;
    }

    private void Append(int token)
    {
        if (_buffered + _bytesPerToken > _buffer.Length)
            Flush();
        if (_bytesPerToken == 2)
            BinaryPrimitives.WriteUInt16LittleEndian(_buffer.AsSpan(_buffered), (ushort)token);
        else
            BinaryPrimitives.WriteUInt32LittleEndian(_buffer.AsSpan(_buffered), (uint)token);
        _buffered += _bytesPerToken;
        _tokens++;
    }

    private void Flush()
    {
        _output.Write(_buffer, 0, _buffered);
        _buffered = 0;
    }

    /// <summary>Writes the remaining tokens and the final header.</summary>
    public TokenShardHeader Complete()
    {
        ObjectDisposedException.ThrowIf(_completed, this);
        Flush();
        var header = new TokenShardHeader(_bytesPerToken, _vocabularySize, _separatorId, _tokens, _documents, _tokenizerId);
        var bytes = new byte[TokenShardHeader.Size];
        header.WriteTo(bytes);
        var end = _output.Position;
        _output.Position = 0;
        _output.Write(bytes);
        _output.Position = end;
        _output.Flush();
        _completed = true;
        return header;
    }

    public void Dispose() => _completed = true;
}

/// <summary>A memory-mapped shard: random windows are read without loading the file.</summary>
public sealed unsafe class TokenShardReader : IDisposable
{
    private readonly MemoryMappedFile _file;
    private readonly MemoryMappedViewAccessor _view;
    // The view's pointer is acquired once: MemoryMappedViewAccessor.ReadUInt16 pins and unpins the view on every call,
    // about 20 ns a token, which is milliseconds a step at GPU batch sizes.
    private readonly byte* _tokens;
    private bool _disposed;

    public TokenShardReader(string path)
    {
        var length = new FileInfo(path).Length;
        if (length < TokenShardHeader.Size)
            throw new InvalidDataException($"'{path}' is too short to be a token shard.");
        _file = MemoryMappedFile.CreateFromFile(path, FileMode.Open, null, 0, MemoryMappedFileAccess.Read);
        _view = _file.CreateViewAccessor(0, 0, MemoryMappedFileAccess.Read);
        var header = new byte[TokenShardHeader.Size];
        _view.ReadArray(0, header, 0, header.Length);
        Header = TokenShardHeader.Read(header);
        if (TokenShardHeader.Size + Header.TokenCount * Header.BytesPerToken > length)
            throw new InvalidDataException($"'{path}' is truncated: the header promises {Header.TokenCount} tokens.");
        byte* view = null;
        _view.SafeMemoryMappedViewHandle.AcquirePointer(ref view);
        _tokens = view + _view.PointerOffset + TokenShardHeader.Size;
    }

    public TokenShardHeader Header { get; }
    public long Count => Header.TokenCount;

    /// <summary>Copies tokens [start, start + destination.Length) into <paramref name="destination"/>.</summary>
    public void Read(long start, Span<long> destination)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (start < 0 || start + destination.Length > Count)
            throw new ArgumentOutOfRangeException(nameof(start), $"Window [{start}, {start + destination.Length}) is outside the shard's {Count} tokens.");
        // Tokens are little endian, as every platform .NET runs on is.
        if (Header.BytesPerToken == 2)
        {
            var source = new ReadOnlySpan<ushort>(_tokens + 2 * start, destination.Length);
            for (var i = 0; i < source.Length; i++)
                destination[i] = source[i];
        }
        else
        {
            var source = new ReadOnlySpan<uint>(_tokens + 4 * start, destination.Length);
            for (var i = 0; i < source.Length; i++)
                destination[i] = source[i];
        }
    }

    public void Dispose()
    {
        if (_disposed)
            return;
        _disposed = true;
        _view.SafeMemoryMappedViewHandle.ReleasePointer();
        _view.Dispose();
        _file.Dispose();
    }
}
