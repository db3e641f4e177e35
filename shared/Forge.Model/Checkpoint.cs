using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Serialization;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Forge.Model;

/// <summary>One file of a checkpoint, as the manifest lists it.</summary>
public sealed record CheckpointFile(string Name, long Bytes, string Sha256);

/// <summary>Written last: a checkpoint without its manifest is incomplete and is never read.</summary>
public sealed record CheckpointManifest(string Format, int Version, long Step, IReadOnlyList<CheckpointFile> Files);

/// <summary>Everything about a run that is not a tensor (trainer.json). FineTune is set only for a fine-tune.</summary>
public sealed record TrainerState(
    int Version,
    long Step,
    long TokensSeen,
    string TokenizerId,
    GptConfig Model,
    TrainingConfig Training,
    string TorchRngState,
    string SamplerState,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] FineTuneState? FineTune = null);

/// <summary>What a fine-tune's checkpoint records of its data: enough to refuse resuming it on other examples.</summary>
public sealed record FineTuneState(int Examples, int? EndToken, double ReplayFraction, string ExamplesSha256)
{
    public static FineTuneState Of(FineTuneData data) => new(data.Examples.Count, data.EndToken, data.ReplayFraction, data.Sha256());
}

/// <summary>
/// Checkpoints as a set of named files (format in CHECKPOINTS.md): model.safetensors, optimizer.safetensors and
/// trainer.json, then manifest.json last. Files go through delegates that open streams by name, so the Trainer can
/// put them in any artifact store; <see cref="Save(TrainingLoop, string)"/> and <see cref="OpenFolder"/> do it for a folder.
/// </summary>
public static class Checkpoint
{
    public const string Format = "forge-checkpoint";
    public const int Version = 1;
    public const string ModelFile = "model.safetensors";
    public const string OptimizerFile = "optimizer.safetensors";
    public const string TrainerFile = "trainer.json";
    public const string ManifestFile = "manifest.json";

    internal static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { WriteIndented = true };

    /// <summary>
    /// Writes the model, optimizer and trainer files through <paramref name="createFile"/> and returns the manifest,
    /// which the caller writes last (<see cref="WriteManifest"/>), once every file is safely stored.
    /// </summary>
    public static CheckpointManifest Write(TrainingLoop loop, Func<string, Stream> createFile)
    {
        using var scope = NewDisposeScope();
        var files = new List<CheckpointFile>
        {
            WriteFile(createFile, ModelFile, stream => SafeTensors.Write(stream, loop.Model.state_dict().Select(p => (p.Key, p.Value)), ModelMetadata(loop))),
            WriteFile(createFile, OptimizerFile, stream => SafeTensors.Write(stream, OptimizerTensors(loop), new Dictionary<string, string> { ["optimizer"] = "AdamW" })),
            WriteFile(createFile, TrainerFile, stream => JsonSerializer.Serialize(stream, TrainerStateOf(loop), Json)),
        };
        return new CheckpointManifest(Format, Version, loop.Step, files);
    }

    public static void WriteManifest(CheckpointManifest manifest, Stream destination) =>
        JsonSerializer.Serialize(destination, manifest, Json);

    public static CheckpointManifest ReadManifest(Stream source)
    {
        CheckpointManifest? manifest;
        try
        {
            manifest = JsonSerializer.Deserialize<CheckpointManifest>(source, Json);
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"The checkpoint manifest is not valid JSON: {e.Message}", e);
        }
        if (manifest is null || manifest.Format != Format)
            throw new InvalidDataException($"Not a Forge checkpoint manifest (format '{manifest?.Format}').");
        if (manifest.Version != Version)
            throw new InvalidDataException($"Checkpoint format version {manifest.Version} is not supported (expected {Version}).");
        var missing = new[] { ModelFile, OptimizerFile, TrainerFile }.Where(name => manifest.Files.All(f => f.Name != name)).ToArray();
        if (missing.Length > 0)
            throw new InvalidDataException($"The checkpoint manifest does not list {string.Join(", ", missing)}.");
        return manifest;
    }

    /// <summary>Saves into <paramref name="folder"/>: the files first, then the manifest under a temporary name, renamed into place.</summary>
    public static CheckpointManifest Save(TrainingLoop loop, string folder)
    {
        Directory.CreateDirectory(folder);
        File.Delete(Path.Combine(folder, ManifestFile));
        var manifest = Write(loop, name => File.Create(Path.Combine(folder, name)));
        var temporary = Path.Combine(folder, ManifestFile + ".tmp");
        using (var stream = File.Create(temporary))
        {
            WriteManifest(manifest, stream);
            stream.Flush(flushToDisk: true);
        }
        File.Move(temporary, Path.Combine(folder, ManifestFile), overwrite: true);
        return manifest;
    }

    public static bool IsComplete(string folder) => File.Exists(Path.Combine(folder, ManifestFile));

    /// <summary>Opens a saved folder's files by name; fails if the checkpoint is incomplete.</summary>
    public static Func<string, Stream> OpenFolder(string folder)
    {
        if (!IsComplete(folder))
            throw new InvalidDataException($"'{folder}' holds no complete checkpoint: {ManifestFile} is missing.");
        return name => File.OpenRead(Path.Combine(folder, name));
    }

    public static TrainerState ReadTrainerState(Func<string, Stream> openFile)
    {
        var manifest = ReadManifest(openFile, out var verified);
        return ReadTrainerState(verified, manifest);
    }

    /// <summary>Loads a model for evaluation or inference: its config comes from the checkpoint.</summary>
    public static LanguageModel LoadModel(Func<string, Stream> openFile, Device? device = null)
    {
        var manifest = ReadManifest(openFile, out var verified);
        var state = ReadTrainerState(verified, manifest);
        var model = LanguageModel.Create(state.Model);
        try
        {
            if (device is not null)
                model.to(device);
            LoadWeights(model, verified);
            model.eval();
            return model;
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    /// <summary>Puts a checkpoint's weights, optimizer moments, step and generator states into <paramref name="loop"/>.</summary>
    internal static void Restore(TrainingLoop loop, Func<string, Stream> openFile)
    {
        var manifest = ReadManifest(openFile, out var verified);
        var state = ReadTrainerState(verified, manifest);
        if (state.Model != loop.ModelConfig)
            throw new InvalidDataException("The checkpoint was made for a different model configuration than this loop's.");
        if (state.TokenizerId != loop.TokenizerId)
            throw new InvalidDataException($"The checkpoint was trained on tokens of tokenizer '{state.TokenizerId}', but this data comes from '{loop.TokenizerId}'.");
        var fineTune = loop.FineTune is null ? null : FineTuneState.Of(loop.FineTune);
        if (state.FineTune != fineTune)
        {
            throw new InvalidDataException((state.FineTune, fineTune) switch
            {
                (null, _) => "The checkpoint is of a pretraining run, but this loop was given fine-tuning examples.",
                (_, null) => "The checkpoint is of a fine-tune; resume it with its examples.",
                _ => $"The checkpoint was fine-tuned on other data ({state.FineTune.Examples} examples, end token {state.FineTune.EndToken}, replay {state.FineTune.ReplayFraction}) than this loop's ({fineTune.Examples} examples, end token {fineTune.EndToken}, replay {fineTune.ReplayFraction}).",
            });
        }
        LoadWeights(loop.Model, verified);
        LoadOptimizer(loop, verified);
        loop.RestoreProgress(state.Step, state.TokensSeen, state.SamplerState, Convert.FromBase64String(state.TorchRngState));
    }

    internal static TrainerState ReadTrainerState(Func<string, Stream> verified, CheckpointManifest manifest)
    {
        TrainerState? state;
        using (var stream = verified(TrainerFile))
        {
            try
            {
                state = JsonSerializer.Deserialize<TrainerState>(stream, Json);
            }
            catch (JsonException e)
            {
                throw new InvalidDataException($"{TrainerFile} is not valid: {e.Message}", e);
            }
        }
        if (state is null || state.Version != Version)
            throw new InvalidDataException($"{TrainerFile} has format version {state?.Version}; expected {Version}.");
        if (state.Step != manifest.Step)
            throw new InvalidDataException($"{TrainerFile} is at step {state.Step} but the manifest says {manifest.Step}: the files come from different checkpoints.");
        state.Model.Validate();
        return state;
    }

    private static CheckpointManifest ReadManifest(Func<string, Stream> openFile, out Func<string, Stream> verified)
    {
        CheckpointManifest manifest;
        try
        {
            using var stream = openFile(ManifestFile);
            manifest = ReadManifest(stream);
        }
        catch (FileNotFoundException e)
        {
            throw new InvalidDataException($"The checkpoint is incomplete: {ManifestFile} is missing.", e);
        }
        var files = manifest.Files.ToDictionary(f => f.Name, StringComparer.Ordinal);
        verified = name => new VerifyingStream(openFile(name), files[name]);
        return manifest;
    }

    /// <summary>
    /// Copies the weights of a model.safetensors stream into <paramref name="model"/> (for fine-tuning from a pretrained
    /// model, say). Names, shapes and types are all checked first; if anything does not fit, nothing is copied.
    /// </summary>
    public static void LoadWeights(LanguageModel model, Stream modelFile)
    {
        using var file = SafeTensors.Read(modelFile);
        CopyInto(model.state_dict(), file.Tensors, ModelFile);
    }

    /// <summary>Copies a complete checkpoint's weights into <paramref name="model"/>, checking each file against the manifest.</summary>
    internal static void LoadVerifiedWeights(LanguageModel model, Func<string, Stream> openFile)
    {
        ReadManifest(openFile, out var verified);
        LoadWeights(model, verified);
    }

    private static void LoadWeights(LanguageModel model, Func<string, Stream> verified)
    {
        using var stream = verified(ModelFile);
        LoadWeights(model, stream);
    }

    private static void LoadOptimizer(TrainingLoop loop, Func<string, Stream> verified)
    {
        using var stream = verified(OptimizerFile);
        using var file = SafeTensors.Read(stream);
        var expected = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        var states = OptimizerStates(loop);
        foreach (var (name, adam) in states)
        {
            expected[name + ".exp_avg"] = adam.exp_avg;
            expected[name + ".exp_avg_sq"] = adam.exp_avg_sq;
        }
        var steps = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        foreach (var (name, adam) in states)
            steps[name + ".step"] = file.Tensors.TryGetValue(name + ".step", out var step) ? step : throw new InvalidDataException($"{OptimizerFile} has no step count for '{name}'.");
        CopyInto(expected, file.Tensors.Where(t => !t.Key.EndsWith(".step", StringComparison.Ordinal)).ToDictionary(), OptimizerFile);
        foreach (var (name, adam) in states)
            adam.step = steps[name + ".step"].item<long>();
    }

    /// <summary>Checks names, shapes and types before copying anything, so a mismatched checkpoint changes nothing.</summary>
    private static void CopyInto(IReadOnlyDictionary<string, Tensor> destination, IReadOnlyDictionary<string, Tensor> source, string file)
    {
        var problems = new List<string>();
        var missing = destination.Keys.Where(k => !source.ContainsKey(k)).ToArray();
        var unexpected = source.Keys.Where(k => !destination.ContainsKey(k)).ToArray();
        if (missing.Length > 0)
            problems.Add($"missing {string.Join(", ", missing.Take(10))}{(missing.Length > 10 ? $" and {missing.Length - 10} more" : "")}");
        if (unexpected.Length > 0)
            problems.Add($"not in the model: {string.Join(", ", unexpected.Take(10))}{(unexpected.Length > 10 ? $" and {unexpected.Length - 10} more" : "")}");
        foreach (var (name, target) in destination)
        {
            if (!source.TryGetValue(name, out var tensor))
                continue;
            if (!tensor.shape.SequenceEqual(target.shape))
                problems.Add($"'{name}' is [{string.Join(", ", tensor.shape)}] in the file but [{string.Join(", ", target.shape)}] here");
            else if (tensor.dtype != target.dtype)
                problems.Add($"'{name}' is {tensor.dtype} in the file but {target.dtype} here");
        }
        if (problems.Count > 0)
            throw new InvalidDataException($"{file} does not fit: {string.Join("; ", problems)}.");
        using var noGrad = no_grad();
        foreach (var (name, target) in destination)
            target.copy_(source[name]);
    }

    private static Dictionary<string, string> ModelMetadata(TrainingLoop loop) => new()
    {
        ["format"] = Format,
        ["step"] = loop.Step.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["tokenizer"] = loop.TokenizerId,
        ["config"] = JsonSerializer.Serialize(loop.ModelConfig, Json),
    };

    private static IEnumerable<(string, Tensor)> OptimizerTensors(TrainingLoop loop)
    {
        foreach (var (name, adam) in OptimizerStates(loop))
        {
            yield return (name + ".exp_avg", adam.exp_avg);
            yield return (name + ".exp_avg_sq", adam.exp_avg_sq);
            yield return (name + ".step", tensor(adam.step));
        }
    }

    /// <summary>AdamW keeps its state in parameter-group order, which is the order of <see cref="WeightDecayGroups.All"/>.</summary>
    private static List<(string Name, AdamW.State State)> OptimizerStates(TrainingLoop loop)
    {
        var states = loop.Optimizer.state_dict().State;
        var names = loop.Parameters.Select(p => p.Name).ToList();
        if (states.Count != names.Count)
            throw new InvalidOperationException($"AdamW holds {states.Count} states for {names.Count} parameters.");
        return names.Zip(states, (name, state) => (name, (AdamW.State)state)).ToList();
    }

    private static TrainerState TrainerStateOf(TrainingLoop loop)
    {
        using var rng = random.get_rng_state();
        return new TrainerState(Version, loop.Step, loop.TokensSeen, loop.TokenizerId, loop.ModelConfig, loop.Training,
            Convert.ToBase64String(rng.bytes), loop.SamplerState, loop.FineTune is null ? null : FineTuneState.Of(loop.FineTune));
    }

    private static CheckpointFile WriteFile(Func<string, Stream> createFile, string name, Action<Stream> write)
    {
        using var destination = createFile(name);
        using var digest = new DigestStream(destination);
        write(digest);
        digest.Flush();
        return new CheckpointFile(name, digest.Length, digest.Sha256());
    }

    /// <summary>Passes writes through while counting and hashing them.</summary>
    private sealed class DigestStream(Stream inner) : Stream
    {
        private readonly IncrementalHash hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        private long written;

        public override bool CanRead => false;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => written;
        public override long Position { get => written; set => throw new NotSupportedException(); }

        public string Sha256() => Convert.ToHexStringLower(hash.GetCurrentHash());

        public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

        public override void Write(ReadOnlySpan<byte> buffer)
        {
            hash.AppendData(buffer);
            inner.Write(buffer);
            written += buffer.Length;
        }

        public override void Flush() => inner.Flush();
        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            if (disposing)
                hash.Dispose();
            base.Dispose(disposing);
        }
    }

    /// <summary>Passes reads through and, at the end of the file, checks its size and SHA-256 against the manifest.</summary>
    private sealed class VerifyingStream(Stream inner, CheckpointFile expected) : Stream
    {
        private readonly IncrementalHash hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        private long read;

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => expected.Bytes;
        public override long Position { get => read; set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override int Read(Span<byte> buffer)
        {
            var count = inner.Read(buffer);
            hash.AppendData(buffer[..count]);
            read += count;
            if (read > expected.Bytes)
                throw new InvalidDataException($"{expected.Name} is longer than the {expected.Bytes} bytes the manifest lists.");
            if (count == 0 && buffer.Length > 0)
            {
                if (read != expected.Bytes)
                    throw new InvalidDataException($"{expected.Name} has {read} bytes; the manifest lists {expected.Bytes}.");
                if (Convert.ToHexStringLower(hash.GetCurrentHash()) != expected.Sha256)
                    throw new InvalidDataException($"{expected.Name} does not match the SHA-256 in the manifest: it is corrupt or from another checkpoint.");
            }
            return count;
        }

        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                hash.Dispose();
                inner.Dispose();
            }
            base.Dispose(disposing);
        }
    }
}
