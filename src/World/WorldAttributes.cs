namespace SelfForcing.World;

// The attributes a caption names and the evaluator recovers. Their lower-case names are the caption words.

public enum ObjectColour { Red, Green, Blue, Yellow, White }

public enum ObjectShape { Circle, Square, Triangle }

public enum MotionDirection { Left, Right, Up, Down }

public enum MotionSpeed { Slow, Fast }

public enum WorldBackground { Dark, Light }

public static class WorldAttributes
{
    public static string Word<T>(T value) where T : struct, Enum => value.ToString().ToLowerInvariant();

    public static bool IsHorizontal(this MotionDirection d) => d is MotionDirection.Left or MotionDirection.Right;

    /// <summary>+1 for right/down (growing pixel coordinates), −1 for left/up.</summary>
    public static int Sign(this MotionDirection d) => d is MotionDirection.Right or MotionDirection.Down ? 1 : -1;
}
