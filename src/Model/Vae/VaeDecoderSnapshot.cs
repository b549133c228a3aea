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

    public void Dispose() => Cache.Dispose();
}
