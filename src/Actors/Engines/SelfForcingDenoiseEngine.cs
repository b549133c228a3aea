using SelfForcing.Model.Dit;
using SelfForcing.Model.Sampling;
using static TorchSharp.torch;

namespace SelfForcing.Actors.Engines;

/// <summary>The real generator: <see cref="CausalWanModel"/> + <see cref="SelfForcingSampler"/>, noise seeded per (stream seed, chunk, step).</summary>
public sealed class SelfForcingDenoiseEngine : IDenoiseEngine
{
    private readonly CausalWanModel _model;
    private readonly SelfForcingSampler _sampler;
    private readonly ScalarType _dtype;
    private readonly int _maxFrames;

    public Device Device { get; }
    /// <summary>The generator this engine samples with (tests compare the pipeline with the sampler called on it directly).</summary>
    public CausalWanModel Model => _model;
    public int FramesPerChunk => _sampler.Settings.NumFramePerBlock;
    public bool Rolling => _model.Config.LocalAttnSize > 0;

    /// <param name="maxFrames">Global-attention cache capacity in latent frames (21 in the reference).</param>
    public SelfForcingDenoiseEngine(CausalWanModel model, Device device, ScalarType dtype, SamplerSettings? settings = null, int maxFrames = 21)
    {
        _model = model;
        _sampler = new SelfForcingSampler(model, (settings ?? SamplerSettings.Default) with { NumFramePerBlock = model.Config.NumFramePerBlock });
        Device = device;
        _dtype = dtype;
        _maxFrames = maxFrames;
    }

    public KvCache CreateCache(StreamSpec spec)
    {
        int frames = spec.Chunks is int n ? n * FramesPerChunk : _maxFrames;
        if (!Rolling && spec.Chunks is null)
            throw new ArgumentException("an unbounded stream needs rolling attention (local_attn_size > 0)");
        if (!Rolling && frames > _maxFrames)
            throw new ArgumentException($"{frames} latent frames exceed the {_maxFrames}-frame global cache; use rolling attention for long streams");
        return _model.CreateCache(1, Math.Max(frames, FramesPerChunk), spec.LatentHeight, spec.LatentWidth, Device, _dtype);
    }

    public Tensor DenoiseChunk(KvCache cache, StreamSpec spec, int chunk, Tensor conditioning, Action<int>? onStep = null) =>
        _sampler.DenoiseChunk(cache, chunk, conditioning.to(_dtype, Device), new SeededNoiseSource(spec.Seed), spec.LatentHeight, spec.LatentWidth,
            onStep is null ? null : call => onStep(call.Step));

    public void CommitChunk(KvCache cache, int chunk, Tensor x0, Tensor conditioning) =>
        _sampler.CommitChunk(cache, chunk, x0, conditioning.to(_dtype, Device));

    public void Dispose() => _model.Dispose();
}
