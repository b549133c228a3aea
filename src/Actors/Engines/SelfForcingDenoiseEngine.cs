using SelfForcing.Model.Dit;
using SelfForcing.Model.Sampling;
using static TorchSharp.torch;

namespace SelfForcing.Actors.Engines;

/// <summary>Rolling (sink + window) attention for streams longer than the global cache: frames kept forever, then the most recent ones.</summary>
public sealed record RollingAttention(int SinkFrames, int WindowFrames)
{
    /// <summary>The reference's <c>local_attn_size</c>: every frame attended, sink included.</summary>
    public int LocalAttnSize => SinkFrames + WindowFrames;
}

/// <summary>The real generator: <see cref="CausalWanModel"/> + <see cref="SelfForcingSampler"/>, noise seeded per (stream seed, chunk, step).</summary>
public sealed class SelfForcingDenoiseEngine : IDenoiseEngine
{
    private readonly CausalWanModel _model;
    private readonly SelfForcingSampler _sampler;
    private readonly ScalarType _dtype;
    private readonly int _maxFrames;
    // The model's config with the long-stream window: what a rolling cache for a long stream is allocated from.
    private readonly WanConfig? _longStreamConfig;

    public Device Device { get; }
    /// <summary>The generator this engine samples with (tests compare the pipeline with the sampler called on it directly).</summary>
    public CausalWanModel Model => _model;
    public int FramesPerChunk => _sampler.Settings.NumFramePerBlock;
    public bool Rolling => _model.Config.LocalAttnSize > 0 || _longStreamConfig is not null;

    /// <param name="maxFrames">Global-attention cache capacity in latent frames (21 in the reference).</param>
    /// <param name="longStreams">
    /// With a global-attention model: the rolling cache given to unbounded streams and to streams longer than
    /// <paramref name="maxFrames"/>; streams that fit keep the reference's global attention. Null: such streams are refused.
    /// </param>
    public SelfForcingDenoiseEngine(CausalWanModel model, Device device, ScalarType dtype, SamplerSettings? settings = null, int maxFrames = 21,
        RollingAttention? longStreams = null)
    {
        _model = model;
        _sampler = new SelfForcingSampler(model, (settings ?? SamplerSettings.Default) with { NumFramePerBlock = model.Config.NumFramePerBlock });
        Device = device;
        _dtype = dtype;
        _maxFrames = maxFrames;
        _longStreamConfig = longStreams is null ? null
            : (model.Config with { LocalAttnSize = longStreams.LocalAttnSize, SinkSize = longStreams.SinkFrames }).Validate();
    }

    public KvCache CreateCache(StreamSpec spec)
    {
        int frames = spec.Chunks is int n ? n * FramesPerChunk : _maxFrames;
        bool modelRolls = _model.Config.LocalAttnSize > 0;
        bool fits = spec.Chunks is not null && frames <= _maxFrames;
        if (!modelRolls && !fits)
        {
            if (_longStreamConfig is null)
                throw new ArgumentException(spec.Chunks is null
                    ? "an unbounded stream needs rolling attention (local_attn_size > 0)"
                    : $"{frames} latent frames exceed the {_maxFrames}-frame global cache; use rolling attention for long streams");
            return KvCache.Allocate(_longStreamConfig, 1, _longStreamConfig.LocalAttnSize, spec.LatentHeight, spec.LatentWidth, Device, _dtype);
        }
        return _model.CreateCache(1, Math.Max(frames, FramesPerChunk), spec.LatentHeight, spec.LatentWidth, Device, _dtype);
    }

    public Tensor DenoiseChunk(KvCache cache, StreamSpec spec, int chunk, Tensor conditioning, Action<int>? onStep = null) =>
        _sampler.DenoiseChunk(cache, chunk, conditioning.to(_dtype, Device), new SeededNoiseSource(spec.Seed), spec.LatentHeight, spec.LatentWidth,
            onStep is null ? null : call => onStep(call.Step));

    public void CommitChunk(KvCache cache, int chunk, Tensor x0, Tensor conditioning) =>
        _sampler.CommitChunk(cache, chunk, x0, conditioning.to(_dtype, Device));

    public void Dispose() => _model.Dispose();
}
