namespace SelfForcing.World;

/// <summary>A whole clip's ground truth: the frame geometry, the background and one or two objects (later ones drawn on top).</summary>
public sealed record WorldScene(int Width, int Height, int Frames, WorldBackground Background, IReadOnlyList<WorldObject> Objects)
{
    /// <summary>See <see cref="WorldSettings.TrailFrames"/>.</summary>
    public int TrailFrames { get; init; }

    public WorldScene Validate()
    {
        if (Width < 8 || Height < 8 || Width % 2 != 0 || Height % 2 != 0)
            throw new ArgumentException($"world frames must be even and at least 8x8, got {Width}x{Height}");
        if (Frames < 2) throw new ArgumentException($"a world clip needs at least 2 frames to show motion, got {Frames}");
        if (TrailFrames is < 0 or > 8) throw new ArgumentException($"a trail is 0..8 frames long, got {TrailFrames}");
        if (Objects.Count is < 1 or > 2) throw new ArgumentException($"a scene has one or two objects, got {Objects.Count}");
        if (Objects.Select(o => o.Colour).Distinct().Count() != Objects.Count)
            throw new ArgumentException("the objects of a scene have distinct colours (the caption and the evaluator tell them apart by colour)");
        return this;
    }
}
