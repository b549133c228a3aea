using SelfForcing.Actors.Wire;
using static TorchSharp.torch;

namespace SelfForcing.Actors.Engines;

/// <summary>
/// An immutable snapshot of a stream's decoder state after some chunk. Decoding is a pure function of
/// (snapshot, latents) → (pixels, next snapshot), which is what lets a restarted decoder — or another decoder
/// node — resume without a seam.
/// </summary>
public interface IDecoderState : IDisposable
{
    /// <summary>Chunks decoded to reach this state.</summary>
    int ChunksDecoded { get; }

    /// <summary>The state as data (tensors copied to bytes), for a decoder on another node.</summary>
    DecoderStateParts Export();
}

/// <summary>
/// A decoder state as plain data: the decoder's name, chunks decoded, a few integers and tensors whose meaning the
/// decoder defines (slot kinds and frames of the VAE's causal-conv cache, TAEHV's MemBlock memory, …).
/// </summary>
public sealed record DecoderStateParts(string Decoder, int ChunksDecoded, long[] Scalars, int[] Kinds, WireTensor?[] Tensors)
{
    public long Bytes => Tensors.Sum(t => t?.Bytes ?? 0);
}

/// <summary>Latents → pixels, chunk by chunk, for the decoders a stream may choose ("vae", "taehv", "preview").</summary>
public interface IDecodeEngine : IDisposable
{
    Device Device { get; }
    IReadOnlyCollection<string> Decoders { get; }
    IDecoderState Initial(string decoder);
    /// <summary>Rebuilds a state exported on another node; a malformed one is refused with <see cref="ArgumentException"/>.</summary>
    IDecoderState Import(DecoderStateParts parts);
    /// <param name="latents">[1, F, C, h, w] on any device.</param>
    /// <returns>Pixels [1, T, 3, H, W] in [-1, 1] on the CPU, and the state after this chunk.</returns>
    (Tensor Pixels, IDecoderState Next) Decode(string decoder, IDecoderState state, Tensor latents);
}
