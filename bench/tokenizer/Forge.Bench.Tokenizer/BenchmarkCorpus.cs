using System.Security.Cryptography;

namespace Forge.Bench.Tokenizer;

/// <summary>The >= 10 MB corpus of the README: tinyshakespeare, then the .NET reference pack's XML documentation.</summary>
public static class BenchmarkCorpus
{
    public static int Write(string output, long bytes)
    {
        // Deterministic for a given .NET SDK: tinyshakespeare (from ../shared/data), then every XML documentation file of
        // the Microsoft.NETCore.App reference pack, ordinal order of file name, cut at the last line break before `bytes`.
        var root = Path.GetDirectoryName(typeof(object).Assembly.Location)!;
        var dotnet = Path.GetFullPath(Path.Combine(root, "..", "..", ".."));
        var pack = Directory.GetDirectories(Path.Combine(dotnet, "packs", "Microsoft.NETCore.App.Ref")).Order(StringComparer.Ordinal).Last();
        var docs = Directory.GetFiles(Path.Combine(pack, "ref", "net10.0"), "*.xml").Order(StringComparer.Ordinal).ToList();
        var shakespeare = RepositoryFiles.FindUpwards(Path.Combine("shared", "data", "tinyshakespeare.txt"))
            ?? throw new FileNotFoundException("tinyshakespeare.txt was not found in a shared/data folder above the current one.");
        using (var file = File.Create(output))
        {
            foreach (var source in docs.Prepend(shakespeare))
            {
                var content = File.ReadAllBytes(source);
                var room = bytes - file.Length;
                if (content.Length >= room)
                {
                    var cut = Array.LastIndexOf(content, (byte)'\n', (int)room - 1) + 1;
                    file.Write(content, 0, cut);
                    break;
                }
                file.Write(content);
            }
        }
        var hash = Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(output)));
        Console.WriteLine($"{output}: {new FileInfo(output).Length:N0} bytes, sha256 {hash} (from {Path.GetFileName(pack)} reference docs)");
        return 0;
    }
}
