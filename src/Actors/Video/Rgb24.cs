using TorchSharp;
using static TorchSharp.torch;

namespace SelfForcing.Actors.Video;

public static class Rgb24
{
    /// <summary>The reference's conversion of pixels [1, T, 3, H, W] in [−1, 1]: 255·clamp(0.5·x + 0.5, 0, 1), then a truncating cast to uint8; frame-major HWC bytes.</summary>
    public static byte[] From(Tensor pixels)
    {
        using var scope = NewDisposeScope();
        var p = pixels.dim() == 5 ? pixels[0] : pixels; // [T, 3, H, W]
        var unit = (p.to(ScalarType.Float32) * 0.5 + 0.5).clamp(0, 1) * 255.0;
        var bytes = unit.to(ScalarType.Byte).permute(0, 2, 3, 1).contiguous().cpu();
        return bytes.bytes.ToArray();
    }
}
