using SelfForcing.Model.Dit;
using static TorchSharp.torch;

namespace SelfForcing.Actors.Engines;

/// <summary>The causal generator: one chunk's few-step denoising and its context pass, against a stream's cache.</summary>
public interface IDenoiseEngine : IDisposable
{
    Device Device { get; }
    /// <summary>Latent frames per chunk.</summary>
    int FramesPerChunk { get; }
    /// <summary>True when streams may be unbounded (rolling sink + window attention).</summary>
    bool Rolling { get; }
    /// <summary>
    /// Most chunks one stream can have. RoPE positions cover <see cref="RotaryEmbedding.MaxPositions"/> latent frames (a
    /// hard limit of the reference); a rolling cache re-bases positions (<see cref="KvCache.ShiftRope"/>) and has no limit.
    /// </summary>
    int MaxChunks => Rolling ? int.MaxValue : RotaryEmbedding.MaxPositions / FramesPerChunk;
    KvCache CreateCache(StreamSpec spec);
    /// <param name="onStep">Called after each denoising step (0-based): lets fault injection strike mid-chunk.</param>
    /// <returns>x0 latents [1, F, C, h, w], not yet committed to the cache.</returns>
    Tensor DenoiseChunk(KvCache cache, StreamSpec spec, int chunk, Tensor conditioning, Action<int>? onStep = null);
    /// <summary>Context pass: writes the chunk's clean keys/values into the cache.</summary>
    void CommitChunk(KvCache cache, int chunk, Tensor x0, Tensor conditioning);
}
