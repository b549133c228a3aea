using System.Text.Json;
using SelfForcing.Model.Checkpoints;
using static TorchSharp.torch;

namespace SelfForcing.Model.Dit;

/// <summary>
/// Builds the Self-Forcing generator the way a user's files lay it out: a Wan2.1 folder (<c>config.json</c> +
/// <c>diffusion_pytorch_model.safetensors</c>, possibly sharded) and, on top, the <c>generator</c> or
/// <c>generator_ema</c> state dict of <c>self_forcing_dmd.pt</c> (keys prefixed <c>model.</c>).
/// </summary>
public static class WanCheckpointLoader
{
    /// <summary>The folder's <c>config.json</c> with the causal options of the Self-Forcing wrapper applied.</summary>
    public static WanConfig ReadConfig(string wanFolder, int localAttnSize = -1, int sinkSize = 0, int numFramePerBlock = 3)
    {
        var path = Path.Combine(wanFolder, "config.json");
        if (!File.Exists(path)) throw new FileNotFoundException($"Wan model folder has no config.json: {wanFolder}", path);
        using var doc = JsonDocument.Parse(File.ReadAllText(path));
        if (doc.RootElement.TryGetProperty("model_type", out var type) && type.GetString() != "t2v")
            throw new NotSupportedException($"{path}: model_type '{type.GetString()}' is not supported (only t2v)");
        return (WanConfig.FromJson(doc.RootElement) with { LocalAttnSize = localAttnSize, SinkSize = sinkSize, NumFramePerBlock = numFramePerBlock }).Validate();
    }

    /// <summary>
    /// Loads the causal generator. With <paramref name="selfForcingCheckpoint"/>, the Wan folder's weights are
    /// skipped (the reference overwrites them all) and the chosen state dict is loaded strictly instead.
    /// Every key and shape is checked against a model built on the <c>meta</c> device (no memory) before the real
    /// model is allocated, and that one is built uninitialised: a wrong file fails in well under a second, and no
    /// time is spent random-initialising weights the checkpoint overwrites.
    /// </summary>
    /// <param name="progress">Told when the weights start loading (path, bytes) and when they are in.</param>
    public static CausalWanModel LoadCausal(string wanFolder, string? selfForcingCheckpoint, bool useEma, Device device, ScalarType dtype,
        int localAttnSize = -1, int sinkSize = 0, LoadProgress? progress = null)
    {
        var config = ReadConfig(wanFolder, localAttnSize, sinkSize);
        using var source = OpenGenerator(wanFolder, selfForcingCheckpoint, useEma);
        return Load(config, source, device, dtype, progress);
    }

    /// <summary>
    /// A generator of a given config (e.g. <see cref="WanConfig.Tiny"/>, which has no folder) from a Self-Forcing
    /// checkpoint such as <c>selfforcing train</c> writes, strictly.
    /// </summary>
    public static CausalWanModel LoadCausal(WanConfig config, string selfForcingCheckpoint, bool useEma, Device device, ScalarType dtype,
        LoadProgress? progress = null)
    {
        using var source = OpenCheckpoint(selfForcingCheckpoint, useEma);
        return Load(config, source, device, dtype, progress);
    }

    /// <summary>What <see cref="LoadCausal(WanConfig, string, bool, Device, ScalarType, LoadProgress?)"/> would reject, from headers only.</summary>
    public static void Check(WanConfig config, string selfForcingCheckpoint, bool useEma)
    {
        using var source = OpenCheckpoint(selfForcingCheckpoint, useEma);
        CheckShapes(config, source.Weights, source.What);
    }

    private static CausalWanModel Load(WanConfig config, GeneratorSource source, Device device, ScalarType dtype, LoadProgress? progress)
    {
        CheckShapes(config, source.Weights, source.What);
        var load = progress?.Begin($"the generator ({dtype}, {device})", source.Path, source.Bytes);
        var model = new CausalWanModel(config, device, dtype, WeightInit.Uninitialised);
        try
        {
            source.Weights.LoadInto(model, source.What);
            model.eval();
            load?.Done();
            return model;
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Checks the generator's weights (keys and shapes, from file headers only) against <paramref name="wanFolder"/>'s
    /// config without allocating the model: what <see cref="LoadCausal"/> would reject, found in milliseconds.
    /// </summary>
    public static void Check(string wanFolder, string? selfForcingCheckpoint, bool useEma)
    {
        var config = ReadConfig(wanFolder);
        using var source = OpenGenerator(wanFolder, selfForcingCheckpoint, useEma);
        CheckShapes(config, source.Weights, source.What);
    }

    private static void CheckShapes(WanConfig config, StateDict weights, string what)
    {
        using var meta = new CausalWanModel(config, new Device(TorchSharp.DeviceType.META), ScalarType.Float32);
        var targets = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        foreach (var (name, p) in meta.named_parameters()) targets[name] = p;
        foreach (var (name, b) in meta.named_buffers()) targets.TryAdd(name, b);
        ModuleWeights.CheckStrict(targets, weights.Keys.ToDictionary(k => k, k => weights.Info(k).Shape, StringComparer.Ordinal), what);
    }

    /// <summary>The generator's state dict (a view into its file) and the files it keeps open.</summary>
    private sealed class GeneratorSource(StateDict file, StateDict weights, string what, string path) : IDisposable
    {
        public StateDict Weights { get; } = weights;
        public string What { get; } = what;
        public string Path { get; } = path;
        public long Bytes { get; } = WeightFileSize(path);
        public void Dispose() => file.Dispose();
    }

    private static GeneratorSource OpenGenerator(string wanFolder, string? selfForcingCheckpoint, bool useEma)
    {
        if (selfForcingCheckpoint is null)
        {
            var folder = StateDict.Open(wanFolder);
            return new GeneratorSource(folder, folder, $"{wanFolder} (Wan2.1 DiT)", wanFolder);
        }
        return OpenCheckpoint(selfForcingCheckpoint, useEma);
    }

    private static GeneratorSource OpenCheckpoint(string selfForcingCheckpoint, bool useEma)
    {
        var sd = StateDict.Open(selfForcingCheckpoint);
        try
        {
            var group = useEma ? "generator_ema." : "generator.";
            var generator = sd.WithPrefix(group).NormalizeWrapperNames().StripOptionalPrefix("model.");
            return new GeneratorSource(sd, generator, $"{selfForcingCheckpoint} [{group.TrimEnd('.')}]", selfForcingCheckpoint);
        }
        catch
        {
            sd.Dispose();
            throw;
        }
    }

    /// <summary>Bytes of a weight file, or of the safetensors files of a folder.</summary>
    public static long WeightFileSize(string path) =>
        Directory.Exists(path) ? Directory.GetFiles(path, "*.safetensors").Sum(f => FileSize.Of(f))
        : File.Exists(path) ? FileSize.Of(path) : 0;
}
