using System.Globalization;
using System.Text.Json;
using SelfForcing.Model.Checkpoints;
using SelfForcing.Model.Dit;
using SelfForcing.Model.Text;
using SelfForcing.World;
using static TorchSharp.torch;

namespace SelfForcing.Actors.Engines;

/// <summary>
/// The tiny world's trained model as one safetensors file: the causal generator under <c>generator.</c> (Wan keys), the
/// world text encoder under <c>text_encoder.</c> (drawn from a seed or trained by <c>train world-text</c>; shipping
/// it keeps the file the whole model), optionally the world VAE under <c>vae.</c> (then the streams are its 8×8 latents and its decoder
/// draws them), and in the metadata the generator's <c>config.json</c> and the encoder's text length and width.
/// <c>selfforcing train world-export</c> writes it; without weights, generate/serve/page run it.
/// </summary>
public static class WorldModelFile
{
    public const string Format = "selfforcing-world-model-1";
    public const string FileName = "world-tiny.safetensors";
    public const string GeneratorPrefix = "generator.", TextPrefix = "text_encoder.", VaePrefix = "vae.";

    /// <summary>The latent side of the world's 32×32 frames: 2×2 space-to-depth (<see cref="WorldLatents"/>) halves it,
    /// a world VAE (<see cref="WorldAutoencoder"/>) quarters it.</summary>
    public const int PixelLatentSide = 16, VaeLatentSide = 8;

    /// <summary>The rolling window the world model streams with by default: 9 latent frames (3 chunks), the context
    /// it was trained on; beyond it RoPE keeps the relative offsets the model has seen.</summary>
    public const int DefaultLocalAttnSize = 9;

    /// <summary>Where the shipped file lies beside the program (copied there by the Hosting project).</summary>
    public static string DefaultPath => Path.Combine(AppContext.BaseDirectory, "Models", FileName);

    /// <param name="vae">The world VAE whose latents the generator was trained on (its decoder then decodes the
    /// streams), or null for <see cref="WorldLatents"/>.</param>
    public static void Save(string path, WanTransformer generator, WorldTextEncodeEngine text, IReadOnlyDictionary<string, string> provenance,
        WorldAutoencoder? vae = null)
    {
        using var scope = NewDisposeScope();
        var tensors = generator.named_parameters().Select(p => KeyValuePair.Create(GeneratorPrefix + p.name, p.parameter.detach().contiguous()))
            .Concat(text.Weights().Select(kv => KeyValuePair.Create(TextPrefix + kv.Key, kv.Value.detach().contiguous())))
            .Concat(vae is null ? [] : vae.state_dict().Select(kv => KeyValuePair.Create(VaePrefix + kv.Key, kv.Value.detach().contiguous())));
        var metadata = new Dictionary<string, string>(provenance)
        {
            ["format"] = Format, ["config"] = generator.Config.ToJson(),
            ["text_len"] = text.Config.TextLen.ToString(CultureInfo.InvariantCulture), ["text_dim"] = text.Config.Dim.ToString(CultureInfo.InvariantCulture),
        };
        SafeTensorsWriter.Write(path, tensors.ToList(), metadata);
    }

    /// <summary>The latent side a stream of the file's model uses by default (its decoder's).</summary>
    public static int LatentSide(string path)
    {
        using var file = Open(path);
        return HasVae(file) ? VaeLatentSide : PixelLatentSide;
    }

    private static bool HasVae(SafeTensorsFile file) => file.Entries.Keys.Any(k => k.StartsWith(VaePrefix, StringComparison.Ordinal));

    /// <summary>The file's generator config, with the rolling window a stream uses.</summary>
    public static WanConfig ReadConfig(string path, int localAttnSize, int sinkSize)
    {
        using var file = Open(path);
        return Config(file, path) with { LocalAttnSize = localAttnSize, SinkSize = sinkSize };
    }

    /// <summary>The world stack: shipped text encoder, trained causal generator, the "world" decoder.</summary>
    public static PipelineEngines Engines(string path, PipelineSettings settings, int localAttnSize = DefaultLocalAttnSize, int sinkSize = 0)
    {
        using var file = Open(path);
        var config = (Config(file, path) with { LocalAttnSize = localAttnSize, SinkSize = sinkSize }).Validate();
        var denoiseDevice = Model.TorchRuntime.ParseDevice(settings.DenoiserDevice);
        var textDevice = Model.TorchRuntime.ParseDevice(settings.TextEncoderDevice);
        var model = new CausalWanModel(config, denoiseDevice);
        WorldTextEncodeEngine? text = null;
        WorldAutoencoder? vae = null;
        try
        {
            using (var state = StateDict.Open(path)) state.WithPrefix(GeneratorPrefix).LoadInto(model, "world generator");
            model.eval();
            text = TextEncoder(file, textDevice);
            var decodeDevice = Model.TorchRuntime.ParseDevice(settings.DecoderDevice);
            if (HasVae(file)) vae = WorldAutoencoder.Load(path, VaePrefix);
            return new PipelineEngines(text, new SelfForcingDenoiseEngine(model, denoiseDevice, ScalarType.Float32,
                    longStreams: config.LocalAttnSize > 0 ? null : settings.LongStreamAttention),
                new WorldDecodeEngine(decodeDevice, vae: vae));
        }
        catch
        {
            model.Dispose();
            text?.Dispose();
            vae?.Dispose();
            throw;
        }
    }

    /// <summary>The file's world text encoder alone (e.g. to measure what its captions carry).</summary>
    public static WorldTextEncodeEngine TextEncoder(string path, Device device)
    {
        using var file = Open(path);
        return TextEncoder(file, device);
    }

    private static WorldTextEncodeEngine TextEncoder(SafeTensorsFile file, Device device)
    {
        int textLen = int.Parse(file.Metadata["text_len"], CultureInfo.InvariantCulture), textDim = int.Parse(file.Metadata["text_dim"], CultureInfo.InvariantCulture);
        return new WorldTextEncodeEngine(WorldTextEncodeEngine.ConfigFor(textLen, textDim), device,
            file.Entries.Keys.Where(k => k.StartsWith(TextPrefix, StringComparison.Ordinal)).Select(k => KeyValuePair.Create(k[TextPrefix.Length..], file.Load(k))));
    }

    private static SafeTensorsFile Open(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"the world model {path} does not exist", path);
        var file = SafeTensorsFile.Open(path);
        if (!file.Metadata.TryGetValue("format", out var format) || format != Format)
        {
            file.Dispose();
            throw new InvalidDataException($"{path} is not a world model file (format '{format}', expected '{Format}')");
        }
        return file;
    }

    private static WanConfig Config(SafeTensorsFile file, string path)
    {
        using var doc = JsonDocument.Parse(file.Metadata.TryGetValue("config", out var json) ? json : throw new InvalidDataException($"{path} has no config"));
        return WanConfig.FromJson(doc.RootElement);
    }
}
