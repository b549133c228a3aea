using static TorchSharp.torch;

namespace SelfForcing.Model.Vae;

/// <summary>
/// Chunk-by-chunk decoder for one video stream: each call decodes the next latents in order, carrying the
/// causal-conv cache, and returns that chunk's pixel frames at once. Under <see cref="VaeFirstFramePolicy.Reference"/>
/// the concatenated chunks equal <see cref="WanVae.Decode"/> of the whole latent video (reference
/// <c>cached_decode</c>); a chunk of n latents yields 1 + 4(n − 1) frames if it starts the video, 4n otherwise.
/// Not thread-safe: one stream, one caller. The weights belong to the <see cref="WanVae"/>; this object owns only
/// its cache.
/// </summary>
public sealed class VaeStreamDecoder : IDisposable
{
    private readonly WanVae _vae;
    private readonly VaeFeatureCache _cache;
    private long[]? _latentShape; // [B, h, w] fixed by the first chunk of a video
    private bool _disposed;

    /// <summary>Frames the web demo drops from the first chunk under <see cref="VaeFirstFramePolicy.DemoZeroCache"/> (4n − 3 = 1 + 4(n − 1)).</summary>
    public const int DemoDiscardedLeadingFrames = 3;

    public VaeStreamDecoder(WanVae vae, VaeFirstFramePolicy policy = VaeFirstFramePolicy.Reference)
    {
        _vae = vae;
        _cache = new VaeFeatureCache(policy);
    }

    public VaeFirstFramePolicy Policy => _cache.Policy;

    /// <summary>Latent frames decoded since the last reset (the stream position).</summary>
    public long LatentFramesDecoded { get; private set; }

    /// <summary>Pixel frames returned since the last reset.</summary>
    public long PixelFramesEmitted { get; private set; }

    /// <summary>Bytes held by the cache (grows to its steady size after the second latent frame).</summary>
    public long CacheBytes => _cache.Bytes;

    /// <summary>Pixel frames the next chunk of <paramref name="latentFrames"/> latents will yield.</summary>
    public int PixelFramesFor(int latentFrames)
    {
        int scale = _vae.Config.TemporalScale;
        if (latentFrames <= 0) return 0;
        return LatentFramesDecoded == 0 && Policy == VaeFirstFramePolicy.Reference ? 1 + scale * (latentFrames - 1) : scale * latentFrames;
    }

    /// <summary>
    /// Decodes the next chunk: normalised latents [B, z_dim, n, h, w] (any n ≥ 1) → float32 pixels
    /// [B, 3, frames, 8h, 8w] in [−1, 1]. Batch and latent size must stay the same until <see cref="Reset"/>.
    /// The state advances only when the decode succeeds.
    /// </summary>
    public Tensor DecodeChunk(Tensor latents)
    {
        ThrowIfDisposed();
        _vae.CheckLatents(latents);
        long[] shape = [latents.shape[0], latents.shape[3], latents.shape[4]];
        if (_latentShape is not null && !_latentShape.SequenceEqual(shape))
            throw new ArgumentException(
                $"VaeStreamDecoder: chunk has batch/latent size [{string.Join(", ", shape)}] but this stream started with " +
                $"[{string.Join(", ", _latentShape)}]; call Reset() before decoding another video.", nameof(latents));

        // A failure half-way leaves the stream where it was: replaced cache frames are kept until the chunk succeeds.
        _cache.BeginTransaction();
        Tensor pixels;
        try
        {
            pixels = _vae.DecodeWithCache(latents, _cache);
        }
        catch
        {
            _cache.Rollback();
            throw;
        }
        _cache.Commit();
        _latentShape = shape;
        LatentFramesDecoded += latents.shape[2];
        PixelFramesEmitted += pixels.shape[2];
        return pixels;
    }

    /// <summary>Starts a new video: drops every cached frame.</summary>
    public void Reset()
    {
        ThrowIfDisposed();
        _cache.Clear();
        _latentShape = null;
        LatentFramesDecoded = 0;
        PixelFramesEmitted = 0;
    }

    /// <summary>Deep copy of the stream state; restoring it later continues at the same frame without a seam.</summary>
    public VaeDecoderSnapshot Snapshot()
    {
        ThrowIfDisposed();
        return new VaeDecoderSnapshot(_cache.Clone(), LatentFramesDecoded, PixelFramesEmitted, _latentShape);
    }

    /// <summary>Replaces the stream state by a deep copy of <paramref name="snapshot"/> (which stays usable).</summary>
    public void Restore(VaeDecoderSnapshot snapshot)
    {
        ThrowIfDisposed();
        _cache.CopyFrom(snapshot.Cache);
        _latentShape = snapshot.LatentShape?.ToArray();
        LatentFramesDecoded = snapshot.LatentFramesDecoded;
        PixelFramesEmitted = snapshot.PixelFramesEmitted;
    }

    private void ThrowIfDisposed() => ObjectDisposedException.ThrowIf(_disposed, this);

    public void Dispose()
    {
        if (_disposed) return;
        _cache.Dispose();
        _disposed = true;
    }
}
