using static TorchSharp.torch;

namespace SelfForcing.Model.Vae;

/// <summary>Decoded pixels → 8-bit RGB frames for a video encoder.</summary>
public static class VaeFrames
{
    /// <summary>
    /// Pixels [B, 3, T, H, W] (or one video [3, T, H, W]) in [−1, 1] → uint8 [T, H, W, 3] on the CPU, converted
    /// as the reference demo does: <c>clamp(x, −1, 1) · 127.5 + 127.5</c> in float32, then a truncating cast.
    /// </summary>
    public static Tensor ToRgbBytes(Tensor pixels, int batchIndex = 0)
    {
        using var scope = NewDisposeScope();
        var video = pixels.dim() switch
        {
            5 when batchIndex >= 0 && batchIndex < pixels.shape[0] => pixels.select(0, batchIndex),
            5 => throw new ArgumentOutOfRangeException(nameof(batchIndex), $"batch index {batchIndex} outside [0, {pixels.shape[0]})."),
            4 => pixels,
            _ => throw new ArgumentException($"ToRgbBytes expects [B, 3, T, H, W] or [3, T, H, W]; got [{string.Join(", ", pixels.shape)}].", nameof(pixels)),
        };
        if (video.shape[0] != 3)
            throw new ArgumentException($"ToRgbBytes expects 3 channels before the frame axis; got [{string.Join(", ", pixels.shape)}].", nameof(pixels));
        var scaled = video.to(ScalarType.Float32).clamp(-1.0, 1.0) * 127.5 + 127.5;
        return scaled.to(ScalarType.Byte).permute(1, 2, 3, 0).contiguous().cpu().MoveToOuterDisposeScope();
    }
}
