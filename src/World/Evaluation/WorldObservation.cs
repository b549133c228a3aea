namespace SelfForcing.World.Evaluation;

/// <summary>
/// One object the evaluator found. <paramref name="Direction"/> is the motion at the start of the clip (a bounce
/// reverses it later); <paramref name="Horizontal"/> the axis of the whole track, which bounces keep; the fill ratio
/// (pixels / bounding box), centroid depth (0 top of the box, 1 bottom) and speed (mean pixels per frame along the axis, as a fraction of the frame width) are the
/// measurements the shape and speed were read from.
/// </summary>
public sealed record ObservedObject(ObjectColour Colour, ObjectShape Shape, MotionDirection Direction, bool Horizontal, MotionSpeed Speed,
    double FillRatio, double CentroidDepth, double SpeedPerFrame, double MeanArea, int FramesSeen);

/// <summary>What the evaluator read from a clip, without its caption: the background and the objects, largest first.</summary>
public sealed record WorldObservation(WorldBackground Background, IReadOnlyList<ObservedObject> Objects)
{
    public override string ToString() => (Objects.Count == 0 ? "no object" : string.Join(" and ", Objects.Select(o =>
        $"a {WorldAttributes.Word(o.Colour)} {WorldAttributes.Word(o.Shape)} moves {WorldAttributes.Word(o.Direction)} {(o.Speed == MotionSpeed.Fast ? CaptionGrammar.Quickly : CaptionGrammar.Slowly)}")))
        + $" on a {WorldAttributes.Word(Background)} background";
}
