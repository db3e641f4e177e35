namespace Forge.Testing;

/// <summary>
/// A read-only, forward-only stream over byte chunks produced on demand, so a test or benchmark can send a body of
/// any size without ever holding it (HttpClient sends it chunked).
/// </summary>
public sealed class GeneratedStream(IEnumerable<byte[]> chunks) : Stream
{
    private readonly IEnumerator<byte[]> _chunks = chunks.GetEnumerator();
    private byte[] _pending = [];
    private int _offset;

    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
    public override void Flush() { }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    public override int Read(byte[] buffer, int offset, int count)
    {
        var written = 0;
        while (written < count)
        {
            if (_offset == _pending.Length)
            {
                if (!_chunks.MoveNext())
                    break;
                _pending = _chunks.Current;
                _offset = 0;
            }
            var n = Math.Min(count - written, _pending.Length - _offset);
            Array.Copy(_pending, _offset, buffer, offset + written, n);
            _offset += n;
            written += n;
        }
        return written;
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
            _chunks.Dispose();
        base.Dispose(disposing);
    }
}
