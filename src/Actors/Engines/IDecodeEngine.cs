using static TorchSharp.torch;

namespace SelfForcing.Actors.Engines;

/// <summary>
/// An immutable snapshot of a stream's decoder state after some chunk. Decoding is a pure function of
/// (snapshot, latents) → (pixels, next snapshot), which is what lets a restarted decoder resume without a seam.
/// </summary>
public interface IDecoderState : IDisposable
{
    /// <summary>Chunks decoded to reach this state.</summary>
    int ChunksDecoded { get; }
}

/// <summary>Latents → pixels, chunk by chunk, for the decoders a stream may choose ("vae", "taehv", "preview").</summary>
public interface IDecodeEngine : IDisposable
{
    Device Device { get; }
    IReadOnlyCollection<string> Decoders { get; }
    IDecoderState Initial(string decoder);
    /// <param name="latents">[1, F, C, h, w] on any device.</param>
    /// <returns>Pixels [1, T, 3, H, W] in [-1, 1] on the CPU, and the state after this chunk.</returns>
    (Tensor Pixels, IDecoderState Next) Decode(string decoder, IDecoderState state, Tensor latents);
}
