using SelfForcing.Actors;
using SelfForcing.Actors.Engines;
using SelfForcing.Model;
using SelfForcing.Model.Checkpoints;
using SelfForcing.Model.Dit;
using SelfForcing.Model.Text;
using SelfForcing.Model.Vae;
using static TorchSharp.torch;

namespace SelfForcing.Hosting.Output;

/// <summary>Where the weights come from. No Wan folder = the tiny random-weight model.</summary>
/// <param name="LocalAttnSize">Rolling attention window in latent frames, -1 = global; null = the model's default
/// (global with weights, a 12-frame window for the tiny model).</param>
/// <param name="SinkSize">Sink frames of rolling attention; null = 0 with weights or an explicit window, 3 for the tiny model's default window.</param>
public sealed record WeightOptions(string? WanDir, string? Checkpoint, bool UseEma, string DType, int? LocalAttnSize, int? SinkSize, string? Taehv = null);

/// <summary>Builds the stage engines: from real weights, or the labelled tiny random-weight stack.</summary>
public static class EngineFactory
{
    public static bool IsTiny(WeightOptions w) => w.WanDir is null;

    public static PipelineEngines Build(WeightOptions w, PipelineSettings settings, TextWriter log)
    {
        if (w.WanDir is null)
        {
            if (w.Checkpoint is not null) throw new ArgumentException("--checkpoint needs --wan-dir (the Wan2.1-T2V-1.3B folder with config, T5 and VAE)");
            log.WriteLine("No weights given (--wan-dir): using a tiny random-weight model. The video is NOISE by design; it only shows the pipeline working.");
            return w.LocalAttnSize is int window
                ? PipelineEngines.Tiny(settings, localAttnSize: window, sinkSize: w.SinkSize ?? 0)
                : PipelineEngines.Tiny(settings, sinkSize: w.SinkSize ?? 3);
        }
        if (!Directory.Exists(w.WanDir)) throw new DirectoryNotFoundException($"--wan-dir '{w.WanDir}' does not exist");
        var dtype = w.DType.ToLowerInvariant() switch
        {
            "bfloat16" or "bf16" => ScalarType.BFloat16,
            "float16" or "fp16" => ScalarType.Float16,
            "float32" or "fp32" => ScalarType.Float32,
            _ => throw new ArgumentException($"--dtype '{w.DType}' is not supported (bfloat16, float16, float32)"),
        };
        var denoiseDevice = TorchRuntime.ParseDevice(settings.DenoiserDevice);
        var textDevice = TorchRuntime.ParseDevice(settings.TextEncoderDevice);
        var decodeDevice = TorchRuntime.ParseDevice(settings.DecoderDevice);

        log.WriteLine($"Loading the generator from {w.WanDir}{(w.Checkpoint is null ? "" : $" + {w.Checkpoint} [{(w.UseEma ? "generator_ema" : "generator")}]")} ({dtype}, {settings.DenoiserDevice})");
        var model = WanCheckpointLoader.LoadCausal(w.WanDir, w.Checkpoint, w.UseEma, denoiseDevice, dtype, w.LocalAttnSize ?? -1, w.SinkSize ?? 0);

        log.WriteLine($"Loading UMT5-XXL ({settings.TextEncoderDevice})");
        var tokenizer = UmT5Tokenizer.FromDirectory(Path.Combine(w.WanDir, "google", "umt5-xxl"));
        var t5Path = Path.Combine(w.WanDir, "models_t5_umt5-xxl-enc-bf16.pth");
        var text = new TextEncoder(tokenizer, T5EncoderConfig.UmT5Xxl, () => Stream(t5Path), textDevice, ScalarType.BFloat16);

        log.WriteLine($"Loading the Wan VAE decoder ({settings.DecoderDevice})");
        var vae = new WanVae(WanVaeConfig.Wan21, decodeDevice, ScalarType.Float32, includeEncoder: false);
        using (var sd = StateDict.Open(Path.Combine(w.WanDir, "Wan2.1_VAE.pth")))
        {
            var weights = sd.Keys.ToDictionary(k => k, k => sd.Load(k));
            try { vae.LoadStateDict(weights); }
            finally { foreach (var t in weights.Values) t.Dispose(); }
        }
        IDecodeEngine decode = new WanVaeDecodeEngine(vae);
        if (w.Taehv is not null)
        {
            log.WriteLine($"Loading TAEHV from {w.Taehv} ({settings.DecoderDevice})");
            var taehv = new Model.Taehv.TaehvDecoder(Model.Taehv.TaehvConfig.Wan21, decodeDevice);
            using var sd = StateDict.Open(w.Taehv);
            var weights = sd.Keys.ToDictionary(k => k, k => sd.Load(k));
            try { taehv.LoadStateDict(weights); }
            finally { foreach (var t in weights.Values) t.Dispose(); }
            decode = new CompositeDecodeEngine(decode, new TaehvDecodeEngine(taehv));
        }
        return new PipelineEngines(new Umt5TextEncodeEngine(text, textDevice), new SelfForcingDenoiseEngine(model, denoiseDevice, dtype), decode);
    }

    // Streams T5 weights one tensor at a time; the encoder copies and disposes each, so only one model copy exists.
    private static IEnumerable<KeyValuePair<string, Tensor>> Stream(string path)
    {
        using var sd = StateDict.Open(path);
        foreach (var kv in sd.Tensors()) yield return kv;
    }
}
