using SelfForcing.Model.Dit;
using TorchSharp;
using static TorchSharp.torch;

namespace SelfForcing.Model.Sampling;

/// <summary>
/// Few-step chunk-wise Self-Forcing inference (reference <c>pipeline/causal_inference.py</c>). Per chunk: predict
/// x0 at each warped timestep, re-noise it with fresh noise to the next one; the last x0 is the chunk. Then the
/// context pass re-runs the model on that x0 at <c>context_noise</c> so the cache holds clean keys for later chunks.
/// The two halves are separate calls so a pipeline can retry either: the denoise half only overwrites the chunk's
/// own cache slots, and the cache counts the chunk once <see cref="CommitChunk"/> has run.
/// Latents use the pipeline layout [B, F, C, H, W]; the model's [B, C, F, H, W] is an internal detail.
/// </summary>
public sealed class SelfForcingSampler
{
    private readonly CausalWanModel _model;

    public FlowMatchScheduler Scheduler { get; }
    public SamplerSettings Settings { get; }
    /// <summary>The timesteps the model actually sees (warped when <see cref="SamplerSettings.WarpDenoisingStep"/>).</summary>
    public IReadOnlyList<float> Timesteps { get; }

    public SelfForcingSampler(CausalWanModel model, SamplerSettings? settings = null)
    {
        _model = model;
        Settings = (settings ?? SamplerSettings.Default).Validate();
        Scheduler = new FlowMatchScheduler(Settings.TimestepShift);
        Timesteps = Settings.WarpDenoisingStep ? Scheduler.Warp(Settings.DenoisingStepList) : Settings.DenoisingStepList.Select(s => (float)s).ToArray();
    }

    public WanConfig Config => _model.Config;

    /// <summary>Shape [B, F, C, H, W] of one chunk of latents.</summary>
    public long[] ChunkShape(long batch, long latentHeight, long latentWidth) =>
        [batch, Settings.NumFramePerBlock, Config.InDim, latentHeight, latentWidth];

    private long CurrentStart(KvCache cache, int chunk) => (long)chunk * Settings.NumFramePerBlock * cache.TokensPerFrame;

    /// <summary>
    /// Runs the denoising steps of chunk <paramref name="chunk"/> and returns its x0 latents [B, F, C, H, W].
    /// <paramref name="conditioning"/> is the prompt embedding [B, text_len, text_dim].
    /// </summary>
    public Tensor DenoiseChunk(KvCache cache, int chunk, Tensor conditioning, INoiseSource noise, long latentHeight, long latentWidth,
        Action<SamplerCall>? observe = null)
    {
        if (chunk < 0) throw new ArgumentOutOfRangeException(nameof(chunk));
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        var device = cache.Device;
        var shape = ChunkShape(cache.Batch, latentHeight, latentWidth);
        long b = shape[0], f = shape[1];
        long start = CurrentStart(cache, chunk);
        var x = noise.Draw(chunk, 0, shape, cache.DType, device);
        Tensor? x0 = null;
        for (int i = 0; i < Timesteps.Count; i++)
        {
            var t = full([b, f], Timesteps[i], ScalarType.Float32, device);
            var flow = ModelFlow(x, t, conditioning, cache, start);
            x0 = Scheduler.FlowToX0(flow.flatten(0, 1), x.flatten(0, 1), t.flatten()).unflatten(0, [b, f]);
            observe?.Invoke(new SamplerCall(chunk, i, false, Timesteps[i], x, flow, x0));
            if (i < Timesteps.Count - 1)
            {
                var eps = noise.Draw(chunk, i + 1, shape, x0.dtype, device).flatten(0, 1);
                var next = full([b * f], Timesteps[i + 1], ScalarType.Float32, device);
                x = Scheduler.AddNoise(x0.flatten(0, 1), eps, next).unflatten(0, [b, f]);
            }
        }
        return x0!.MoveToOuterDisposeScope();
    }

    /// <summary>The context pass: writes chunk <paramref name="chunk"/>'s clean keys/values (from its x0) into the cache.</summary>
    public void CommitChunk(KvCache cache, int chunk, Tensor x0, Tensor conditioning, Action<SamplerCall>? observe = null)
    {
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        long b = x0.shape[0], f = x0.shape[1];
        var t = full([b, f], Settings.ContextNoise, ScalarType.Float32, cache.Device);
        var flow = ModelFlow(x0, t, conditioning, cache, CurrentStart(cache, chunk));
        observe?.Invoke(new SamplerCall(chunk, Timesteps.Count, true, Settings.ContextNoise, x0, flow, null));
    }

    /// <summary>Streams a whole video chunk by chunk: each chunk's x0 latents [B, F, C, H, W] are yielded as soon as they exist.</summary>
    public IEnumerable<Tensor> Generate(KvCache cache, Tensor conditioning, int chunks, INoiseSource noise, long latentHeight, long latentWidth,
        Action<SamplerCall>? observe = null)
    {
        for (int c = 0; c < chunks; c++)
        {
            var x0 = DenoiseChunk(cache, c, conditioning, noise, latentHeight, latentWidth, observe);
            CommitChunk(cache, c, x0, conditioning, observe);
            yield return x0;
        }
    }

    // WanDiffusionWrapper: permute [B, F, C, H, W] → [B, C, F, H, W] for the model and back.
    private Tensor ModelFlow(Tensor x, Tensor t, Tensor conditioning, KvCache cache, long start)
    {
        var flow = _model.Forward(x.permute(0, 2, 1, 3, 4), t, conditioning, cache, start);
        return flow.permute(0, 2, 1, 3, 4);
    }
}
