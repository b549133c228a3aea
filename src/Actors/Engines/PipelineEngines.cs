using SelfForcing.Model.Dit;
using static TorchSharp.torch;

namespace SelfForcing.Actors.Engines;

/// <summary>The model pieces each stage runs, each already placed on its device.</summary>
public sealed record PipelineEngines(ITextEncodeEngine Text, IDenoiseEngine Denoise, IDecodeEngine Decode) : IDisposable
{
    /// <summary>
    /// A tiny random-weight Self-Forcing stack (the real DiT, sampler and a UMT5 encoder at toy size, and the
    /// latent preview decoder). Its videos are noise by design: it shows the whole path working without weights.
    /// Rolling attention by default (12-frame window, 3 sink frames), so streams may be unbounded; an impossible
    /// window (e.g. a sink larger than it) is rejected by the model config.
    /// </summary>
    /// <param name="localAttnSize">−1: global attention for streams that fit the 21-frame cache, and the rolling cache of
    /// <paramref name="settings"/> for longer or unbounded ones; N > 0: the model itself rolls with an N-frame window
    /// (sink <paramref name="sinkSize"/>) for every stream.</param>
    public static PipelineEngines Tiny(PipelineSettings settings, long weightSeed = 0, int localAttnSize = 12, int sinkSize = 3)
    {
        var config = (WanConfig.Tiny with { LocalAttnSize = localAttnSize, SinkSize = sinkSize }).Validate();
        var denoiseDevice = Model.TorchRuntime.ParseDevice(settings.DenoiserDevice);
        var model = new CausalWanModel(config, denoiseDevice);
        model.InitializeRandom(weightSeed, std: 0.05);
        return Tiny(settings, model, weightSeed);
    }

    /// <summary>The tiny stack around a given tiny generator (e.g. one trained by <c>selfforcing train</c>); takes ownership of it.</summary>
    /// <param name="textSeed">Seed of the tiny text encoder's weights (training's prompt encoder uses 0, as generate does).</param>
    public static PipelineEngines Tiny(PipelineSettings settings, CausalWanModel model, long textSeed = 0)
    {
        var config = model.Config;
        var denoiseDevice = Model.TorchRuntime.ParseDevice(settings.DenoiserDevice);
        model.eval();
        return new PipelineEngines(
            new TinyTextEncodeEngine(config.TextLen, config.TextDim, Model.TorchRuntime.ParseDevice(settings.TextEncoderDevice), textSeed),
            new SelfForcingDenoiseEngine(model, denoiseDevice, ScalarType.Float32, longStreams: config.LocalAttnSize > 0 ? null : settings.LongStreamAttention),
            new LatentPreviewDecodeEngine(Model.TorchRuntime.ParseDevice(settings.DecoderDevice)));
    }

    public void Dispose()
    {
        Text.Dispose();
        Denoise.Dispose();
        Decode.Dispose();
    }
}
