using SelfForcing.Model.Dit;
using static TorchSharp.torch;

namespace SelfForcing.Actors.Engines;

/// <summary>The model pieces each stage runs, each already placed on its device.</summary>
public sealed record PipelineEngines(ITextEncodeEngine Text, IDenoiseEngine Denoise, IDecodeEngine Decode) : IDisposable
{
    /// <summary>
    /// A tiny random-weight Self-Forcing stack (the real DiT, sampler and a UMT5 encoder at toy size, and the
    /// latent preview decoder). Its videos are noise by design: it shows the whole path working without weights.
    /// </summary>
    /// <param name="rolling">The model itself rolls (sink 3, window 12 frames incl. sink) for every stream; otherwise bounded
    /// streams that fit get global attention and longer or unbounded ones the rolling cache of <paramref name="settings"/>.</param>
    public static PipelineEngines Tiny(PipelineSettings settings, long weightSeed = 0, bool rolling = true)
    {
        var config = WanConfig.Tiny with { LocalAttnSize = rolling ? 12 : -1, SinkSize = rolling ? 3 : 0 };
        var denoiseDevice = Model.TorchRuntime.ParseDevice(settings.DenoiserDevice);
        var model = new CausalWanModel(config, denoiseDevice);
        model.InitializeRandom(weightSeed, std: 0.05);
        model.eval();
        return new PipelineEngines(
            new TinyTextEncodeEngine(config.TextLen, config.TextDim, Model.TorchRuntime.ParseDevice(settings.TextEncoderDevice), weightSeed),
            new SelfForcingDenoiseEngine(model, denoiseDevice, ScalarType.Float32, longStreams: rolling ? null : settings.LongStreamAttention),
            new LatentPreviewDecodeEngine(Model.TorchRuntime.ParseDevice(settings.DecoderDevice)));
    }

    public void Dispose()
    {
        Text.Dispose();
        Denoise.Dispose();
        Decode.Dispose();
    }
}
