using static TorchSharp.torch;

namespace SelfForcing.World;

/// <summary>
/// Which shape sits where, on the world VAE's latent grid: for each frame, channel <c>s</c> of cell (i, j) is the share
/// of the cell's pixels inside the bounding box of an object of shape <c>s</c> (circle, square, triangle; an object
/// drawn later covers one drawn earlier, as in <see cref="WorldVideo.Render"/>). Trails are not objects.
/// <para>Why: a VAE whose encoder is taught to write this into three of its latent channels (<c>train world-vae
/// --shape-code</c>) carries an object's shape as a value constant over the object's cells — the way the latents
/// already carry its colour, which every model here learnt — instead of only in the fine pattern of the cells along
/// its outline, which none did.</para>
/// </summary>
public static class WorldShapeCode
{
    public const int Channels = 3;

    /// <summary>The latent channels that carry the code: the last three of the 16.</summary>
    public const int FirstChannel = WorldAutoencoder.Channels - Channels;

    /// <summary>[frames, 3, H/<paramref name="factor"/>, W/<paramref name="factor"/>] in [0, 1].</summary>
    public static Tensor Of(WorldScene scene, int factor)
    {
        if (factor < 1 || scene.Width % factor != 0 || scene.Height % factor != 0)
            throw new ArgumentException($"the {scene.Width}x{scene.Height} frames do not divide into cells of {factor}");
        int w = scene.Width, h = scene.Height;
        var pixels = new float[scene.Frames * Channels * h * w];
        for (int t = 0; t < scene.Frames; t++)
            foreach (var o in scene.Objects)
            {
                var (x, y) = o.At(t, w, h);
                // The box is the pixels a square of the object's size would cover, as the rasterizer draws it.
                foreach (var (px, py) in ShapeRasterizer.CoveredPixels(ObjectShape.Square, x, y, o.Size, w, h))
                    for (int c = 0; c < Channels; c++)
                        pixels[((t * Channels + c) * h + py) * w + px] = c == (int)o.Shape ? 1f : 0f;
            }
        using var full = tensor(pixels, [scene.Frames, Channels, h, w]);
        return nn.functional.avg_pool2d(full, factor);
    }
}
