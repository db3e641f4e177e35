using System.Buffers.Binary;
using System.Text.Json;
using static TorchSharp.torch;

namespace Forge.Model;

/// <summary>
/// Hugging Face's safetensors format: an 8-byte little-endian header length N, N bytes of UTF-8 JSON, then the raw
/// little-endian tensor data back to back. The header maps each name to
/// <c>{"dtype": "F32", "shape": [..], "data_offsets": [begin, end]}</c> (offsets from the start of the data) and may
/// hold a <c>"__metadata__"</c> map of strings. Written and read as streams, so it suits any artifact store.
/// </summary>
public static class SafeTensors
{
    private const string MetadataKey = "__metadata__";
    private const long MaxHeaderBytes = 100 << 20;

    private static readonly (string Code, ScalarType Type)[] Types =
    [
        ("F64", ScalarType.Float64), ("F32", ScalarType.Float32), ("F16", ScalarType.Float16), ("BF16", ScalarType.BFloat16),
        ("I64", ScalarType.Int64), ("I32", ScalarType.Int32), ("I16", ScalarType.Int16), ("I8", ScalarType.Int8),
        ("U8", ScalarType.Byte), ("BOOL", ScalarType.Bool),
    ];

    public static void Write(Stream destination, IEnumerable<(string Name, Tensor Tensor)> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        var entries = tensors.ToList();
        var duplicate = entries.GroupBy(e => e.Name).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null)
            throw new ArgumentException($"Tensor name '{duplicate.Key}' appears twice.", nameof(tensors));

        using var header = new MemoryStream();
        using (var json = new Utf8JsonWriter(header))
        {
            json.WriteStartObject();
            if (metadata is { Count: > 0 })
            {
                json.WriteStartObject(MetadataKey);
                foreach (var (key, value) in metadata)
                    json.WriteString(key, value);
                json.WriteEndObject();
            }
            long offset = 0;
            foreach (var (name, tensor) in entries)
            {
                var length = tensor.numel() * tensor.element_size();
                json.WriteStartObject(name);
                json.WriteString("dtype", CodeOf(tensor.dtype));
                json.WriteStartArray("shape");
                foreach (var size in tensor.shape)
                    json.WriteNumberValue(size);
                json.WriteEndArray();
                json.WriteStartArray("data_offsets");
                json.WriteNumberValue(offset);
                json.WriteNumberValue(offset + length);
                json.WriteEndArray();
                json.WriteEndObject();
                offset += length;
            }
            json.WriteEndObject();
        }
        // The data starts 8-byte aligned, as the reference writer pads it, with spaces.
        while (header.Length % 8 != 0)
            header.WriteByte((byte)' ');

        Span<byte> prefix = stackalloc byte[8];
        BinaryPrimitives.WriteInt64LittleEndian(prefix, header.Length);
        destination.Write(prefix);
        header.Position = 0;
        header.CopyTo(destination);
        foreach (var (_, tensor) in entries)
        {
            using var scope = NewDisposeScope();
            var host = tensor.detach().cpu().contiguous();
            destination.Write(host.bytes);
        }
    }

    /// <summary>Reads every tensor onto the CPU. Throws <see cref="InvalidDataException"/> naming what is wrong.</summary>
    public static SafeTensorsFile Read(Stream source)
    {
        Span<byte> prefix = stackalloc byte[8];
        ReadExactly(source, prefix, "the header length");
        var headerLength = BinaryPrimitives.ReadInt64LittleEndian(prefix);
        if (headerLength is <= 1 or > MaxHeaderBytes)
            throw new InvalidDataException($"Not a safetensors file: its header length is {headerLength} bytes.");
        var headerBytes = new byte[headerLength];
        ReadExactly(source, headerBytes, "the header");

        var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
        var entries = new List<(string Name, ScalarType Type, long[] Shape, long Begin, long End)>();
        try
        {
            using var document = JsonDocument.Parse(headerBytes);
            foreach (var property in document.RootElement.EnumerateObject())
            {
                if (property.Name == MetadataKey)
                {
                    foreach (var item in property.Value.EnumerateObject())
                        metadata[item.Name] = item.Value.GetString() ?? "";
                    continue;
                }
                var type = TypeOf(property.Value.GetProperty("dtype").GetString(), property.Name);
                var shape = property.Value.GetProperty("shape").EnumerateArray().Select(d => d.GetInt64()).ToArray();
                var offsets = property.Value.GetProperty("data_offsets").EnumerateArray().Select(d => d.GetInt64()).ToArray();
                if (shape.Any(d => d < 0) || offsets.Length != 2)
                    throw new InvalidDataException($"Tensor '{property.Name}' has a negative dimension or malformed data_offsets.");
                entries.Add((property.Name, type, shape, offsets[0], offsets[1]));
            }
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or KeyNotFoundException or FormatException)
        {
            throw new InvalidDataException($"The safetensors header is not valid JSON of the expected shape: {e.Message}", e);
        }

        var file = new SafeTensorsFile(metadata);
        try
        {
            long position = 0;
            foreach (var (name, type, shape, begin, end) in entries.OrderBy(e => e.Begin))
            {
                if (begin != position)
                    throw new InvalidDataException($"Tensor '{name}' starts at byte {begin} of the data, but the previous one ended at {position}: the file has a gap or overlap.");
                var tensor = empty(shape, type);
                var expected = tensor.numel() * tensor.element_size();
                if (end - begin != expected)
                {
                    tensor.Dispose();
                    throw new InvalidDataException($"Tensor '{name}' ({CodeOf(type)} [{string.Join(", ", shape)}]) needs {expected} bytes, but its data_offsets span {end - begin}.");
                }
                file.Add(name, tensor);
                ReadExactly(source, tensor.bytes, $"the data of tensor '{name}'");
                position = end;
            }
            if (source.ReadByte() != -1)
                throw new InvalidDataException("The safetensors file has bytes after the last tensor.");
            return file;
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }

    private static void ReadExactly(Stream source, Span<byte> destination, string what)
    {
        try
        {
            source.ReadExactly(destination);
        }
        catch (EndOfStreamException e)
        {
            throw new InvalidDataException($"The safetensors file ends inside {what}: it is truncated.", e);
        }
    }

    private static string CodeOf(ScalarType type) =>
        Types.FirstOrDefault(t => t.Type == type).Code ?? throw new ArgumentException($"Tensors of type {type} cannot be stored in safetensors here.");

    private static ScalarType TypeOf(string? code, string name)
    {
        foreach (var (known, type) in Types)
        {
            if (known == code)
                return type;
        }
        throw new InvalidDataException($"Tensor '{name}' has dtype '{code}', which is not supported.");
    }
}

/// <summary>The tensors of a safetensors file, on the CPU, in file order; disposing it frees them.</summary>
public sealed class SafeTensorsFile(IReadOnlyDictionary<string, string> metadata) : IDisposable
{
    private readonly Dictionary<string, Tensor> tensors = new(StringComparer.Ordinal);

    public IReadOnlyDictionary<string, string> Metadata { get; } = metadata;

    public IReadOnlyDictionary<string, Tensor> Tensors => tensors;

    internal void Add(string name, Tensor tensor) => tensors.Add(name, tensor);

    public void Dispose()
    {
        foreach (var tensor in tensors.Values)
            tensor.Dispose();
        tensors.Clear();
    }
}
