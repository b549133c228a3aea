namespace SelfForcing.World;

/// <summary>
/// One shape in a scene. <paramref name="X"/>, <paramref name="Y"/> are the top-left corner of its
/// <paramref name="Size"/>×<paramref name="Size"/> box at frame 0, in pixels (fractional: the motion is continuous and
/// the rasteriser samples pixel centres); <paramref name="PixelsPerFrame"/> is the speed along the direction's axis.
/// </summary>
public sealed record WorldObject(ObjectColour Colour, ObjectShape Shape, MotionDirection Direction, MotionSpeed Speed,
    double Size, double X, double Y, double PixelsPerFrame)
{
    /// <summary>Top-left corner at frame <paramref name="t"/> in a <paramref name="width"/>×<paramref name="height"/> world:
    /// straight motion that bounces off the walls (a reflection, so the speed is kept and the box never leaves the frame).</summary>
    public (double X, double Y) At(int t, int width, int height)
    {
        double travel = Direction.Sign() * PixelsPerFrame * t;
        return Direction.IsHorizontal()
            ? (Reflect(X + travel, width - Size), Y)
            : (X, Reflect(Y + travel, height - Size));
    }

    /// <summary>Where the object was <paramref name="k"/> frames before frame <paramref name="t"/>: on its path while that
    /// is frame 0 or later; before frame 0 it came straight in (unfolded, possibly partly outside the frame), so that a
    /// trail at the start of a clip lies behind the object, never ahead of it as a bounce's fold would put it.</summary>
    public (double X, double Y) Before(int t, int k, int width, int height)
    {
        if (t - k >= 0) return At(t - k, width, height);
        var (x, y) = At(0, width, height);
        double back = Direction.Sign() * PixelsPerFrame * (t - k);
        return Direction.IsHorizontal() ? (x + back, y) : (x, y + back);
    }

    /// <summary>Folds a free coordinate into [0, range] as a ball bouncing between two walls does.</summary>
    public static double Reflect(double u, double range)
    {
        if (range <= 0) return 0;
        double period = 2 * range;
        double m = u % period;
        if (m < 0) m += period;
        return m <= range ? m : period - m;
    }
}
