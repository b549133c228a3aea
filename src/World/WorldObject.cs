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
