using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using Forge.Model;
using TorchSharp;
using static TorchSharp.torch;

namespace Forge.Model.Tests;

public sealed class SafeTensorsTests
{
    [Fact]
    public void TensorsOfEveryStoredTypeRoundTripBitForBit()
    {
        using var scope = NewDisposeScope();
        manual_seed(2);
        var tensors = new (string, Tensor)[]
        {
            ("f32", randn(3, 4)),
            ("bf16", randn(5).to(ScalarType.BFloat16)),
            ("f64", randn(2, 2, 2, dtype: ScalarType.Float64)),
            ("i64", arange(10)),
            ("u8", tensor(new byte[] { 1, 2, 255 })),
            ("scalar", tensor(42L)),
            ("empty", zeros(0, 3)),
        };
        using var file = new MemoryStream();

        SafeTensors.Write(file, tensors, new Dictionary<string, string> { ["note"] = "hi" });
        file.Position = 0;
        using var read = SafeTensors.Read(file);

        Assert.Equal("hi", read.Metadata["note"]);
        Assert.All(tensors, t =>
        {
            var copy = read.Tensors[t.Item1];
            Assert.Equal(t.Item2.dtype, copy.dtype);
            Assert.Equal(t.Item2.shape, copy.shape);
            Assert.True(Tensors.Identical(t.Item2, copy), t.Item1);
        });
    }

    [Fact]
    public void TheLayoutIsTheReferenceOne()
    {
        using var scope = NewDisposeScope();
        using var file = new MemoryStream();

        SafeTensors.Write(file, [("a", ones(2)), ("b", tensor(new long[] { 7 }))]);

        var bytes = file.ToArray();
        var headerLength = BinaryPrimitives.ReadInt64LittleEndian(bytes);
        Assert.Equal(0, (8 + headerLength) % 8);
        using var header = JsonDocument.Parse(Encoding.UTF8.GetString(bytes, 8, (int)headerLength).TrimEnd());
        Assert.Equal([0, 8], header.RootElement.GetProperty("a").GetProperty("data_offsets").EnumerateArray().Select(o => o.GetInt64()));
        Assert.Equal([8, 16], header.RootElement.GetProperty("b").GetProperty("data_offsets").EnumerateArray().Select(o => o.GetInt64()));
        Assert.Equal("I64", header.RootElement.GetProperty("b").GetProperty("dtype").GetString());
        Assert.Equal(1f, BitConverter.ToSingle(bytes, 8 + (int)headerLength + 4));
        Assert.Equal(7L, BitConverter.ToInt64(bytes, 8 + (int)headerLength + 8));
        Assert.Equal(8 + headerLength + 16, bytes.Length);
    }

    [Fact]
    public void ATruncatedFileIsReportedAsSuch()
    {
        using var scope = NewDisposeScope();
        using var file = new MemoryStream();
        SafeTensors.Write(file, [("a", ones(100))]);
        var truncated = new MemoryStream(file.ToArray()[..^10]);

        var error = Assert.Throws<InvalidDataException>(() => SafeTensors.Read(truncated));

        Assert.Contains("ends inside the data of tensor 'a'", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void SomethingElseIsNotMistakenForSafetensors()
    {
        var error = Assert.Throws<InvalidDataException>(() => SafeTensors.Read(new MemoryStream(Encoding.UTF8.GetBytes("PK\u0003\u0004 this is a zip file, not tensors"))));

        Assert.Contains("Not a safetensors file", error.Message, StringComparison.Ordinal);
    }
}
