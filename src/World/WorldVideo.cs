namespace SelfForcing.World;

/// <summary>One clip of the world: its ground truth, its caption and its frames (16 fps by convention, see <see cref="Fps"/>).</summary>
public sealed record WorldVideo(WorldScene Scene, WorldCaption Caption, RgbFrames Frames)
{
    /// <summary>The world's frame rate, the reference's: one world frame is one latent frame (see <see cref="WorldLatents"/>).</summary>
    public const int Fps = 16;

    /// <summary>The clip for a seed: the same seed gives the same scene, caption and bytes on every machine
    /// (<see cref="Random"/> with a seed is a fixed algorithm, and the rasteriser is plain double arithmetic).</summary>
    public static WorldVideo Sample(WorldSettings settings, long seed)
    {
        var rng = new Random(unchecked((int)seed ^ (int)(seed >> 32)));
        var scene = WorldSceneSampler.Sample(settings, rng);
        var caption = CaptionGrammar.Draw(scene, settings, rng);
        return new WorldVideo(scene, caption, Render(scene));
    }

    public static RgbFrames Render(WorldScene scene)
    {
        scene.Validate();
        var frames = RgbFrames.Blank(scene.Frames, scene.Width, scene.Height);
        var bg = WorldPalette.Of(scene.Background);
        for (int i = 0; i < frames.Data.Length; i += 3)
        {
            frames.Data[i] = bg.R;
            frames.Data[i + 1] = bg.G;
            frames.Data[i + 2] = bg.B;
        }
        for (int t = 0; t < scene.Frames; t++)
        {
            for (int k = scene.TrailFrames; k >= 1; k--)
                foreach (var o in scene.Objects)
                {
                    var (x, y) = o.Before(t, k, scene.Width, scene.Height);
                    ShapeRasterizer.Draw(frames, t, o.Shape, x, y, o.Size, TrailColour(WorldPalette.Of(o.Colour), bg, k, scene.TrailFrames));
                }
            foreach (var o in scene.Objects)
            {
                var (x, y) = o.At(t, scene.Width, scene.Height);
                ShapeRasterizer.Draw(frames, t, o.Shape, x, y, o.Size, WorldPalette.Of(o.Colour));
            }
        }
        return frames;
    }

    /// <summary>The k-th of n trail copies: the object's colour faded towards the background, 30% of the way at k = 1
    /// down to 30%/n at k = n. Every trail pixel stays nearer the background than any object colour (at 40% a white
    /// object's trail on the dark background is nearer red), so the evaluator's nearest-colour test sees the objects alone.</summary>
    public static (byte R, byte G, byte B) TrailColour((byte R, byte G, byte B) obj, (byte R, byte G, byte B) bg, int k, int n)
    {
        double a = 0.3 * (n - k + 1) / n;
        byte Mix(byte o, byte b) => (byte)Math.Round(b + a * (o - b));
        return (Mix(obj.R, bg.R), Mix(obj.G, bg.G), Mix(obj.B, bg.B));
    }
}
