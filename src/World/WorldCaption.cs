namespace SelfForcing.World;

/// <summary>One object as a caption names it; the speed only when the caption says it.</summary>
public sealed record CaptionObject(ObjectColour Colour, ObjectShape Shape, MotionDirection Direction, MotionSpeed? Speed = null);

/// <summary>What a caption says: one or two objects, and the background when it names one.</summary>
public sealed record WorldCaption(IReadOnlyList<CaptionObject> Objects, WorldBackground? Background = null)
{
    public static WorldCaption Of(WorldScene scene, bool withBackground = true, bool withSpeed = true) => new(
        scene.Objects.Select(o => new CaptionObject(o.Colour, o.Shape, o.Direction, withSpeed ? o.Speed : null)).ToList(),
        withBackground ? scene.Background : null);

    public override string ToString() => CaptionGrammar.Render(this);

    public bool Equals(WorldCaption? other) =>
        other is not null && Background == other.Background && Objects.SequenceEqual(other.Objects);

    public override int GetHashCode() => HashCode.Combine(Background, Objects.Count, Objects.Count > 0 ? Objects[0] : null);
}
