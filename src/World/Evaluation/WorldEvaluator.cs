namespace SelfForcing.World.Evaluation;

/// <summary>
/// Reads a clip's background, objects, shapes and motion by simple image analysis, for ground-truth or generated frames
/// at any size (measurements are relative to the frame, so an upscaled or decoded video reads the same):
/// <list type="number">
/// <item>background: the per-channel median pixel (objects cover well under half the frame), named by the nearer
/// background of the palette;</item>
/// <item>colour: each pixel takes the nearest of the median background and the five object colours; a colour is an
/// object when its largest region (by interior pixels, so blurred fringes do not count) is big enough in at least half
/// of the frames;</item>
/// <item>shape: from the frames where the region is near its full size (an object passing behind another is not), the
/// medians of where the centroid sits in the bounding box (a triangle's is low, ⅔ down, the others' in the middle) and
/// of the region's fill of its box (square ≈ 1, circle ≈ π/4);</item>
/// <item>motion: the region's centroid track; the axis with more total travel, the direction from the travel over the
/// first steps (before a bounce can reverse it), the speed from the mean travel per frame.</item>
/// </list>
/// </summary>
public sealed class WorldEvaluator(WorldSettings? settings = null)
{
    /// <summary>Smallest interior (core) area of an object, as a fraction of the frame: about a fifth of the smallest
    /// triangle's interior at the default sizes.</summary>
    public const double MinCoreFraction = 0.004;
    /// <summary>Centroid depth above which a region is a triangle: midway between ½ and ⅔.</summary>
    public const double TriangleMinDepth = 0.58;
    /// <summary>Fill ratio above which a symmetric region is a square: between the circles' (at most ~0.88 on ground
    /// truth: a small circle's bounding box can be a pixel short) and the squares' (at least ~0.96).</summary>
    public const double SquareMinFill = 0.92;
    /// <summary>Steps of the centroid track that decide the starting direction; the world keeps the first ones bounce-free.</summary>
    public const int DirectionSteps = 6;

    private readonly WorldSettings _settings = (settings ?? WorldSettings.Default).Validate();
    private static readonly ObjectColour[] Colours = Enum.GetValues<ObjectColour>();

    public WorldObservation Observe(RgbFrames frames)
    {
        var bg = MedianColour(frames);
        var background = Enum.GetValues<WorldBackground>().MinBy(b => Distance(bg, WorldPalette.Of(b)));
        var palette = Colours.Select(WorldPalette.Of).ToArray();
        var blobs = new ColourBlob?[frames.Count][];
        var labels = new int[frames.Width * frames.Height];
        for (int f = 0; f < frames.Count; f++)
        {
            for (int y = 0, p = 0; y < frames.Height; y++)
                for (int x = 0; x < frames.Width; x++, p++)
                    labels[p] = NearestLabel(frames.Pixel(f, x, y), bg, palette);
            blobs[f] = ColourBlob.LargestPerLabel(labels, frames.Width, frames.Height, palette.Length);
        }

        int minCore = Math.Max(1, (int)Math.Round(MinCoreFraction * frames.Width * frames.Height));
        var objects = new List<ObservedObject>();
        for (int c = 0; c < Colours.Length; c++)
        {
            var track = Enumerable.Range(0, frames.Count)
                .Select(f => (Frame: f, Blob: blobs[f][c]))
                .Where(s => s.Blob is { } b && b.Core >= minCore)
                .Select(s => (s.Frame, Blob: s.Blob!))
                .ToList();
            if (track.Count * 2 < frames.Count || track.Count < 2) continue;
            objects.Add(Describe(Colours[c], track, frames.Width));
        }
        return new WorldObservation(background, objects.OrderByDescending(o => o.MeanArea).ToList());
    }

    private ObservedObject Describe(ObjectColour colour, List<(int Frame, ColourBlob Blob)> track, int width)
    {
        int maxArea = track.Max(s => s.Blob.Area);
        var whole = track.Where(s => s.Blob.Area >= 0.9 * maxArea).Select(s => s.Blob).ToList();
        double fill = Median(whole.Select(b => b.FillRatio)), depth = Median(whole.Select(b => b.CentroidDepth));
        var shape = depth >= TriangleMinDepth ? ObjectShape.Triangle : fill >= SquareMinFill ? ObjectShape.Square : ObjectShape.Circle;

        var steps = track.Zip(track.Skip(1), (a, b) => (
            Dx: (b.Blob.CentroidX - a.Blob.CentroidX) / (b.Frame - a.Frame),
            Dy: (b.Blob.CentroidY - a.Blob.CentroidY) / (b.Frame - a.Frame))).ToList();
        bool horizontal = steps.Sum(s => Math.Abs(s.Dx)) >= steps.Sum(s => Math.Abs(s.Dy));
        double early = steps.Take(DirectionSteps).Sum(s => horizontal ? s.Dx : s.Dy);
        var direction = horizontal
            ? early >= 0 ? MotionDirection.Right : MotionDirection.Left
            : early >= 0 ? MotionDirection.Down : MotionDirection.Up;
        double speed = steps.Average(s => Math.Abs(horizontal ? s.Dx : s.Dy)) / width;
        var speedClass = speed >= (_settings.SlowSpeed + _settings.FastSpeed) / 2 ? MotionSpeed.Fast : MotionSpeed.Slow;
        return new ObservedObject(colour, shape, direction, horizontal, speedClass, fill, depth, speed, track.Average(s => s.Blob.Area), track.Count);
    }

    private static double Median(IEnumerable<double> values)
    {
        var sorted = values.Order().ToList();
        return sorted[sorted.Count / 2];
    }

    /// <summary>−1 for the background, else the index of the nearest object colour.</summary>
    private static int NearestLabel((byte R, byte G, byte B) pixel, (byte R, byte G, byte B) bg, (byte R, byte G, byte B)[] palette)
    {
        int best = -1;
        int bestDistance = Distance(pixel, bg);
        for (int i = 0; i < palette.Length; i++)
        {
            int d = Distance(pixel, palette[i]);
            if (d < bestDistance) { best = i; bestDistance = d; }
        }
        return best;
    }

    private static int Distance((byte R, byte G, byte B) a, (byte R, byte G, byte B) b)
    {
        int dr = a.R - b.R, dg = a.G - b.G, db = a.B - b.B;
        return dr * dr + dg * dg + db * db;
    }

    /// <summary>Per-channel median of every pixel of every frame (from 256-bin histograms).</summary>
    private static (byte R, byte G, byte B) MedianColour(RgbFrames frames)
    {
        var hist = new long[3, 256];
        for (int i = 0; i < frames.Data.Length; i++) hist[i % 3, frames.Data[i]]++;
        long half = frames.Data.Length / 3 / 2;
        var median = new byte[3];
        for (int c = 0; c < 3; c++)
        {
            long seen = 0;
            for (int v = 0; v < 256; v++)
            {
                seen += hist[c, v];
                if (seen > half) { median[c] = (byte)v; break; }
            }
        }
        return (median[0], median[1], median[2]);
    }
}
