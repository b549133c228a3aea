namespace SelfForcing.World;

/// <summary>
/// Draws a shape into one RGB24 frame by testing each pixel's centre: no anti-aliasing, so a ground-truth frame holds
/// only palette colours and the latent map's round trip is exact. The box is [x, x+size) × [y, y+size).
/// </summary>
public static class ShapeRasterizer
{
    public static void Draw(RgbFrames frames, int frame, ObjectShape shape, double x, double y, double size, (byte R, byte G, byte B) colour)
    {
        foreach (var (px, py) in CoveredPixels(shape, x, y, size, frames.Width, frames.Height))
        {
            int o = frames.Offset(frame, px, py);
            frames.Data[o] = colour.R;
            frames.Data[o + 1] = colour.G;
            frames.Data[o + 2] = colour.B;
        }
    }

    /// <summary>The pixels of a width × height frame whose centres the shape in the box at (x, y) covers (a square: the
    /// whole box).</summary>
    public static IEnumerable<(int X, int Y)> CoveredPixels(ObjectShape shape, double x, double y, double size, int width, int height)
    {
        int x0 = Math.Max(0, (int)Math.Floor(x)), x1 = Math.Min(width - 1, (int)Math.Ceiling(x + size));
        int y0 = Math.Max(0, (int)Math.Floor(y)), y1 = Math.Min(height - 1, (int)Math.Ceiling(y + size));
        for (int py = y0; py <= y1; py++)
            for (int px = x0; px <= x1; px++)
                if (Covers(shape, px + 0.5 - x, py + 0.5 - y, size))
                    yield return (px, py);
    }

    /// <summary>Whether the point (u, v), relative to the box's top-left corner, is inside the shape.</summary>
    public static bool Covers(ObjectShape shape, double u, double v, double size)
    {
        if (u < 0 || v < 0 || u >= size || v >= size) return false;
        double half = size / 2;
        return shape switch
        {
            ObjectShape.Square => true,
            ObjectShape.Circle => (u - half) * (u - half) + (v - half) * (v - half) <= half * half,
            // Apex at the top centre, base along the bottom edge: the half-width grows by 1/2 per row.
            ObjectShape.Triangle => Math.Abs(u - half) <= v / 2,
            _ => throw new ArgumentOutOfRangeException(nameof(shape), shape, null),
        };
    }
}
