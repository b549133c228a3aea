namespace SelfForcing.World;

/// <summary>
/// The world's few colours as RGB24. Saturated object colours far apart from each other and from both backgrounds, so
/// that a nearest-colour test separates them even after H.264's chroma subsampling. The light background is a mid
/// grey rather than near-white so that a white object stays visible on it.
/// </summary>
public static class WorldPalette
{
    public static (byte R, byte G, byte B) Of(ObjectColour c) => c switch
    {
        ObjectColour.Red => (220, 40, 40),
        ObjectColour.Green => (40, 200, 60),
        ObjectColour.Blue => (40, 80, 235),
        ObjectColour.Yellow => (235, 215, 30),
        ObjectColour.White => (250, 250, 250),
        _ => throw new ArgumentOutOfRangeException(nameof(c), c, null),
    };

    public static (byte R, byte G, byte B) Of(WorldBackground b) => b switch
    {
        WorldBackground.Dark => (24, 24, 32),
        WorldBackground.Light => (170, 170, 165),
        _ => throw new ArgumentOutOfRangeException(nameof(b), b, null),
    };
}
