namespace SelfForcing.World;

/// <summary>Frames as RGB24 bytes, frame-major then row-major (what ffmpeg's rawvideo rgb24 reads and writes).</summary>
public sealed record RgbFrames(int Count, int Width, int Height, byte[] Data)
{
    public int FrameBytes => Width * Height * 3;

    public static RgbFrames Blank(int count, int width, int height) => new(count, width, height, new byte[count * width * height * 3]);

    public static RgbFrames FromBytes(byte[] data, int width, int height)
    {
        if (width <= 0 || height <= 0) throw new ArgumentException($"frame size must be positive, got {width}x{height}");
        int frameBytes = width * height * 3;
        if (data.Length == 0 || data.Length % frameBytes != 0)
            throw new ArgumentException($"{data.Length} bytes is not a whole number of {width}x{height} RGB24 frames");
        return new RgbFrames(data.Length / frameBytes, width, height, data);
    }

    public int Offset(int frame, int x, int y) => ((frame * Height + y) * Width + x) * 3;

    public (byte R, byte G, byte B) Pixel(int frame, int x, int y)
    {
        int o = Offset(frame, x, y);
        return (Data[o], Data[o + 1], Data[o + 2]);
    }

    /// <summary>Nearest-neighbour enlargement by an integer factor, for viewing tiny frames.</summary>
    public RgbFrames Upscale(int factor)
    {
        if (factor < 1) throw new ArgumentException($"scale must be at least 1, got {factor}");
        if (factor == 1) return this;
        var big = Blank(Count, Width * factor, Height * factor);
        for (int f = 0; f < Count; f++)
            for (int y = 0; y < big.Height; y++)
                for (int x = 0; x < big.Width; x++)
                    Array.Copy(Data, Offset(f, x / factor, y / factor), big.Data, big.Offset(f, x, y), 3);
        return big;
    }
}
