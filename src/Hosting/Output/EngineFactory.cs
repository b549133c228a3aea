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
public sealed record WeightOptions(string? WanDir, string? Checkpoint, bool UseEma, string DType, int? LocalAttnSize, int? SinkSize, string? Taehv = null)
{
    public const string World = "world", TinyRandom = "tiny-random";

    /// <summary>Without --wan-dir or --checkpoint: "world" (the shipped tiny-world model) or "tiny-random" (noise by design).</summary>
    public string Model { get; init; } = World;
}

/// <summary>Builds the stage engines: from real weights, or the labelled tiny random-weight stack.</summary>
public static class EngineFactory
{
    public static bool IsTiny(WeightOptions w) => w.WanDir is null;

    /// <summary>The shipped tiny-world model: no weights given, and --model world (the default).</summary>
    public static bool IsWorld(WeightOptions w) => w.WanDir is null && w.Checkpoint is null && w.Model == WeightOptions.World;

    /// <summary>The latent side a stream uses unless told, for the tiny models (null: the pipeline's HOCON default).</summary>
    public static int? DefaultLatentSide(WeightOptions w) =>
        IsWorld(w) ? WorldModelFile.LatentSide(WorldModelFile.DefaultPath) : IsTiny(w) ? WorldModelFile.PixelLatentSide : null;

    /// <summary>The decoder a stream uses unless told: the world's, the latent preview for the other tiny models, else the VAE.</summary>
    public static string DefaultDecoder(WeightOptions w) => IsWorld(w) ? WorldDecodeEngine.Name : IsTiny(w) ? "preview" : "vae";

    /// <param name="log">Notices and load progress (one line as each load starts, one when it is done).</param>
    public static PipelineEngines Build(WeightOptions w, PipelineSettings settings, TextWriter log)
    {
        // Every file first: a missing or malformed one is reported before minutes of loading, not after.
        WeightFiles.Validate(w);
        if (w.WanDir is null)
        {
            // An impossible window is the user's error to hear first, alone.
            var tiny = WeightFiles.TinyConfig(w).Validate();
            if (w.Checkpoint is not null)
            {
                log.WriteLine($"No --wan-dir: the tiny model with the generator{(w.UseEma ? "_ema" : "")} weights of {w.Checkpoint} (a selfforcing train checkpoint).");
                var trained = WanCheckpointLoader.LoadCausal(tiny, w.Checkpoint, w.UseEma, TorchRuntime.ParseDevice(settings.DenoiserDevice), ScalarType.Float32,
                    new LoadProgress(log));
                return PipelineEngines.Tiny(settings, trained);
            }
            if (IsWorld(w))
            {
                log.WriteLine($"No weights given (--wan-dir): the tiny world model ({WorldModelFile.DefaultPath}), a first, undertrained version: " +
                              "it draws the prompt's colour but not yet its shape or motion (README \"The default model\"). --model tiny-random for the random model.");
                return WorldModelFile.Engines(WorldModelFile.DefaultPath, settings, w.LocalAttnSize ?? WorldModelFile.DefaultLocalAttnSize, w.SinkSize ?? 0);
            }
            if (w.Model != WeightOptions.TinyRandom) throw new ArgumentException($"--model must be {WeightOptions.World} or {WeightOptions.TinyRandom}, got '{w.Model}'");
            log.WriteLine("No weights given (--wan-dir): using a tiny random-weight model. The video is NOISE by design; it only shows the pipeline working.");
            // No window given: global attention like the reference, with HOCON's rolling cache for long/unbounded streams.
            return PipelineEngines.Tiny(settings, localAttnSize: w.LocalAttnSize ?? -1, sinkSize: w.SinkSize ?? 0);
        }
        var denoiseDevice = TorchRuntime.ParseDevice(settings.DenoiserDevice);
        var textDevice = TorchRuntime.ParseDevice(settings.TextEncoderDevice);
        var decodeDevice = TorchRuntime.ParseDevice(settings.DecoderDevice);
        var dtype = GeneratorDType.Resolve(w.DType, denoiseDevice);
        var progress = new LoadProgress(log);

        var model = WanCheckpointLoader.LoadCausal(w.WanDir, w.Checkpoint, w.UseEma, denoiseDevice, dtype, w.LocalAttnSize ?? -1, w.SinkSize ?? 0, progress);
        try
        {
            var tokenizer = UmT5Tokenizer.FromDirectory(Path.Combine(w.WanDir, WanFolder.Tokenizer));
            var t5Path = Path.Combine(w.WanDir, WanFolder.TextEncoder);
            // The encoder loads at its first prompt (and again after each unload), reporting each load as it happens.
            var text = new TextEncoder(tokenizer, T5EncoderConfig.UmT5Xxl,
                () => progress.Stream($"UMT5-XXL ({ScalarType.BFloat16}, {settings.TextEncoderDevice})", t5Path),
                textDevice, ScalarType.BFloat16, TextOptions(settings));
            if (settings.UnloadTextEncoderAfterUse) log.WriteLine("The text encoder is unloaded after each new prompt (text-encoder.unload-after-use).");

            var vaePath = Path.Combine(w.WanDir, WanFolder.Vae);
            var step = progress.Begin($"the Wan VAE decoder ({settings.DecoderDevice})", vaePath, FileSize.Of(vaePath));
            var vae = new WanVae(WanVaeConfig.Wan21, decodeDevice, ScalarType.Float32, includeEncoder: false);
            using (var sd = StateDict.Open(vaePath))
            {
                var weights = sd.Keys.ToDictionary(k => k, k => sd.Load(k));
                try { vae.LoadStateDict(weights); }
                finally { foreach (var t in weights.Values) t.Dispose(); }
            }
            step.Done();
            IDecodeEngine decode = new WanVaeDecodeEngine(vae);
            if (w.Taehv is not null)
            {
                step = progress.Begin($"TAEHV ({settings.DecoderDevice})", w.Taehv, FileSize.Of(w.Taehv));
                var taehv = new Model.Taehv.TaehvDecoder(Model.Taehv.TaehvConfig.Wan21, decodeDevice);
                using var sd = StateDict.Open(w.Taehv);
                var weights = sd.Keys.ToDictionary(k => k, k => sd.Load(k));
                try { taehv.LoadStateDict(weights); }
                finally { foreach (var t in weights.Values) t.Dispose(); }
                step.Done();
                decode = new CompositeDecodeEngine(decode, new TaehvDecodeEngine(taehv));
            }
            return new PipelineEngines(new Umt5TextEncodeEngine(text, textDevice), new SelfForcingDenoiseEngine(model, denoiseDevice, dtype, longStreams: settings.LongStreamAttention), decode);
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    /// <summary>The text encoder's runtime options from the pipeline settings.</summary>
    public static TextEncoderOptions TextOptions(PipelineSettings settings) =>
        TextEncoderOptions.Default with { UnloadAfterEncode = settings.UnloadTextEncoderAfterUse };
}
