using static TorchSharp.torch;

namespace SelfForcing.World;

/// <summary>
/// The world's fixed "VAE": an exactly invertible map between RGB frames and the DiT's 16-channel latent layout.
/// <para>Space: 2×2 space-to-depth. A frame's [3, H, W] pixels (bytes scaled to [−1, 1]) become [12, H/2, W/2] with
/// channel <c>4·c + 2·dy + dx</c> holding colour c of the pixel at offset (dy, dx) in each 2×2 cell; channels 12–15 are
/// zero (the decoder ignores them, so any model output there is harmless). A 32×32 world is a 16×16 latent: the tiny
/// model's default, 64 tokens per latent frame with the DiT's 2×2 patches, cheap enough to train on two CPU cores. A
/// 64×64 world would fit the same map (a 32×32 latent) at four times the tokens; 64×64 RGB into exactly 16 channels at
/// one latent frame per video frame has no square layout (12,288 values = 16 × 768), hence the spare channels.</para>
/// <para>Time: one latent frame is one world frame at 16 fps; no temporal compression. Wan's 4× temporal compression
/// (a first latent frame of 1 video frame, then 4 per latent frame) belongs to its VAE; the DiT, the causal chunks of 3
/// latent frames and the KV cache only count latent frames. Packing 4 frames into channels would need 48 channels (or
/// grey frames), and keeping only every 4th frame would not be invertible and would show the motion at 4 fps. So a
/// chunk is 3 frames (3/16 s), the reference's 21 latent frames are a 21-frame clip, and the decoder is stateless.</para>
/// <para>Exact: scaling is b/127.5 − 1 and back with rounding, and space-to-depth only moves values, so
/// bytes → latents → bytes returns the same bytes.</para>
/// </summary>
public static class WorldLatents
{
    public const int Channels = 16;
    public const int PixelChannels = 12;
    public const int Factor = 2;

    /// <param name="frames">F frames of H×W RGB24.</param>
    /// <returns>[F, 16, H/2, W/2] float32 on the CPU.</returns>
    public static Tensor Encode(RgbFrames frames)
    {
        using var scope = NewDisposeScope();
        return Encode(Pixels(frames)).MoveToOuterDisposeScope();
    }

    /// <summary>RGB24 frames as [F, 3, H, W] float32 in [−1, 1] on the CPU (what both latent maps take).</summary>
    public static Tensor Pixels(RgbFrames frames)
    {
        using var scope = NewDisposeScope();
        return Unit(tensor(frames.Data, [frames.Count, frames.Height, frames.Width, 3])).permute(0, 3, 1, 2).contiguous().MoveToOuterDisposeScope();
    }

    /// <summary>Bytes (any shape) → float32 in [−1, 1]: b / 127.5 − 1, the inverse of <see cref="ToRgb"/>'s rounding.</summary>
    public static Tensor Unit(Tensor bytes) => bytes.to(ScalarType.Float32).div(127.5).sub(1);

    /// <param name="pixels">[F, 3, H, W] in [−1, 1], H and W even.</param>
    /// <returns>[F, 16, H/2, W/2] on the pixels' device.</returns>
    public static Tensor Encode(Tensor pixels)
    {
        if (pixels.dim() != 4 || pixels.shape[1] != 3 || pixels.shape[2] % Factor != 0 || pixels.shape[3] % Factor != 0)
            throw new ArgumentException($"pixels must be [F, 3, H, W] with even H and W, got [{string.Join(", ", pixels.shape)}]");
        using var scope = NewDisposeScope();
        long f = pixels.shape[0], h = pixels.shape[2] / Factor, w = pixels.shape[3] / Factor;
        var packed = pixels.reshape(f, 3, h, Factor, w, Factor).permute(0, 1, 3, 5, 2, 4).reshape(f, PixelChannels, h, w);
        var spare = zeros([f, Channels - PixelChannels, h, w], packed.dtype, packed.device);
        return cat([packed, spare], 1).MoveToOuterDisposeScope();
    }

    /// <param name="latents">[F, 16, h, w] (any float dtype, any device).</param>
    /// <returns>[F, 3, 2h, 2w] on the latents' device, unclamped.</returns>
    public static Tensor Decode(Tensor latents)
    {
        if (latents.dim() != 4 || latents.shape[1] != Channels)
            throw new ArgumentException($"world latents must be [F, {Channels}, h, w], got [{string.Join(", ", latents.shape)}]");
        using var scope = NewDisposeScope();
        long f = latents.shape[0], h = latents.shape[2], w = latents.shape[3];
        return latents.narrow(1, 0, PixelChannels).reshape(f, 3, Factor, Factor, h, w).permute(0, 1, 4, 2, 5, 3)
            .reshape(f, 3, h * Factor, w * Factor).MoveToOuterDisposeScope();
    }

    /// <summary>Pixels [F, 3, H, W] in [−1, 1] (clamped) → RGB24 bytes, rounding to the nearest level.</summary>
    public static RgbFrames ToRgb(Tensor pixels)
    {
        if (pixels.dim() != 4 || pixels.shape[1] != 3)
            throw new ArgumentException($"pixels must be [F, 3, H, W], got [{string.Join(", ", pixels.shape)}]");
        using var scope = NewDisposeScope();
        var bytes = pixels.to(ScalarType.Float32, CPU).clamp(-1, 1).add(1).mul(127.5).round().to(ScalarType.Byte)
            .permute(0, 2, 3, 1).contiguous();
        return new RgbFrames((int)pixels.shape[0], (int)pixels.shape[3], (int)pixels.shape[2], bytes.data<byte>().ToArray());
    }
}
