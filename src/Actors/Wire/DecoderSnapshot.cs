using SelfForcing.Actors.Engines;

namespace SelfForcing.Actors.Wire;

/// <summary>
/// A stream's decoder state as it travels with decode jobs and results. Inside one process it is the live state
/// (no copy: the Wan VAE's cache at 480×832 is hundreds of MB); when the message crosses to another node the
/// <see cref="WireSerializer"/> sends <see cref="Packed"/>, and the receiving decoder imports it. The live state is
/// owned by the decode stage's <see cref="Stages.DecoderStates"/>, never by the holder of this reference.
/// </summary>
public sealed class DecoderSnapshot
{
    public DecoderSnapshot(IDecoderState live) => Live = live;

    public DecoderSnapshot(DecoderStateParts parts) => Parts = parts;

    /// <summary>The state before a stream's first chunk, for the named decoder (each decoder node makes its own).</summary>
    public static DecoderSnapshot Start(string decoder) => new(new DecoderStateParts(decoder, 0, [], [], []));

    public bool IsStart => Live is null && Parts is { ChunksDecoded: 0, Scalars.Length: 0, Tensors.Length: 0 };

    public IDecoderState? Live { get; }
    public DecoderStateParts? Parts { get; }

    public int ChunksDecoded => Live?.ChunksDecoded ?? Parts!.ChunksDecoded;

    public DecoderStateParts Packed() => Parts ?? Live!.Export();
}
