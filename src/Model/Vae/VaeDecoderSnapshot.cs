using static TorchSharp.torch;

namespace SelfForcing.Model.Vae;

/// <summary>
/// Immutable copy of a <see cref="VaeStreamDecoder"/>'s state (cache tensors deep-copied, on the decoder's
/// device). Restoring never modifies it, so one snapshot can seed several restarts. Dispose frees its tensors.
/// </summary>
public sealed class VaeDecoderSnapshot : IDisposable
{
    internal VaeDecoderSnapshot(VaeFeatureCache cache, long latentFramesDecoded, long pixelFramesEmitted, long[]? latentShape)
    {
        Cache = cache;
        LatentFramesDecoded = latentFramesDecoded;
        PixelFramesEmitted = pixelFramesEmitted;
        LatentShape = latentShape?.ToArray();
    }

    internal VaeFeatureCache Cache { get; }
    internal IReadOnlyList<long>? LatentShape { get; }

    public VaeFirstFramePolicy Policy => Cache.Policy;
    public long LatentFramesDecoded { get; }
    public long PixelFramesEmitted { get; }
    public long Bytes => Cache.Bytes;

    /// <summary>
    /// The snapshot as plain parts, so it can cross a process boundary: each cache slot's kind (0 empty, 1 'Rep',
    /// 2 frames) and frames, in slot order. The tensors are this snapshot's own (not copies): do not dispose them.
    /// </summary>
    public (int[] SlotKinds, Tensor?[] SlotFrames, long[]? LatentShape) Parts()
    {
        var (kinds, frames) = Cache.Parts();
        return (kinds, frames, LatentShape?.ToArray());
    }

    /// <summary>Rebuilds a snapshot from <see cref="Parts"/>; takes ownership of <paramref name="slotFrames"/>.</summary>
    public static VaeDecoderSnapshot FromParts(VaeFirstFramePolicy policy, long latentFramesDecoded, long pixelFramesEmitted, long[]? latentShape,
        int[] slotKinds, Tensor?[] slotFrames) =>
        new(VaeFeatureCache.FromParts(policy, slotKinds, slotFrames), latentFramesDecoded, pixelFramesEmitted, latentShape);

    public void Dispose() => Cache.Dispose();
}
