namespace SelfForcing.World.Evaluation;

/// <summary>The attributes a clip is scored on. Axis (horizontal or vertical) is direction up to a bounce: the one that
/// still means something late in a long stream, after the object has hit a wall.</summary>
public enum WorldAttribute { Colour, Shape, Direction, Axis, Speed, Background, Count }

/// <summary>
/// A caption against what the evaluator saw. Each caption object is paired with the observed object of its colour,
/// else with the largest one left (so a wrong colour still lets shape and motion be judged); an object with no partner
/// is wrong on every attribute. Speed and background count only when the caption names them; Count is whether as many
/// objects were seen as the caption names.
/// </summary>
public sealed record WorldScore(IReadOnlyList<(WorldAttribute Attribute, bool Correct)> Checks)
{
    public static WorldScore Of(WorldCaption caption, WorldObservation seen)
    {
        var checks = new List<(WorldAttribute, bool)>();
        var left = seen.Objects.ToList();
        foreach (var want in caption.Objects)
        {
            var match = left.FirstOrDefault(o => o.Colour == want.Colour) ?? left.FirstOrDefault();
            if (match is not null) left.Remove(match);
            checks.Add((WorldAttribute.Colour, match?.Colour == want.Colour));
            checks.Add((WorldAttribute.Shape, match?.Shape == want.Shape));
            checks.Add((WorldAttribute.Direction, match?.Direction == want.Direction));
            checks.Add((WorldAttribute.Axis, match is not null && match.Horizontal == want.Direction.IsHorizontal()));
            if (want.Speed is { } speed) checks.Add((WorldAttribute.Speed, match?.Speed == speed));
        }
        if (caption.Background is { } bg) checks.Add((WorldAttribute.Background, seen.Background == bg));
        checks.Add((WorldAttribute.Count, seen.Objects.Count == caption.Objects.Count));
        return new WorldScore(checks);
    }

    public bool AllCorrect => Checks.All(c => c.Correct);
}
