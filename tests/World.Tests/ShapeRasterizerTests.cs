namespace SelfForcing.World.Tests;

/// <summary>Pixel-centre rasterisation: areas close to the shapes' geometric areas, and the shapes inside their box.</summary>
public sealed class ShapeRasterizerTests
{
    [Theory]
    [InlineData(ObjectShape.Square, 1.0)]
    [InlineData(ObjectShape.Circle, Math.PI / 4)]
    [InlineData(ObjectShape.Triangle, 0.5)]
    public void Areas_follow_geometry(ObjectShape shape, double fraction)
    {
        var rng = new Random(7);
        for (int i = 0; i < 50; i++)
        {
            double size = 9 + rng.NextDouble() * 15, x = rng.NextDouble() * 4, y = rng.NextDouble() * 4;
            var frames = RgbFrames.Blank(1, 32, 32);
            ShapeRasterizer.Draw(frames, 0, shape, x, y, size, (255, 0, 0));
            int area = 0, minX = 99, maxX = -1, minY = 99, maxY = -1;
            for (int py = 0; py < 32; py++)
                for (int px = 0; px < 32; px++)
                    if (frames.Pixel(0, px, py).R == 255)
                    {
                        area++;
                        minX = Math.Min(minX, px); maxX = Math.Max(maxX, px); minY = Math.Min(minY, py); maxY = Math.Max(maxY, py);
                    }
            // The pixels whose centres fall inside: within a perimeter's worth of pixels of the exact area.
            Assert.InRange(area, fraction * size * size - 4 * size, fraction * size * size + 4 * size);
            Assert.True(minX >= Math.Floor(x) && maxX < x + size && minY >= Math.Floor(y) && maxY < y + size, $"{shape} left its box");
        }
    }
}
