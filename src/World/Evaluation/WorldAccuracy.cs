namespace SelfForcing.World.Evaluation;

/// <summary>Per-attribute tallies over many scored clips.</summary>
public sealed class WorldAccuracy
{
    private readonly Dictionary<WorldAttribute, (int Correct, int Total)> _tally = [];

    public int Clips { get; private set; }

    public void Add(WorldScore score)
    {
        Clips++;
        foreach (var (attribute, correct) in score.Checks)
        {
            var (c, t) = _tally.GetValueOrDefault(attribute);
            _tally[attribute] = (c + (correct ? 1 : 0), t + 1);
        }
    }

    public (int Correct, int Total) Of(WorldAttribute attribute) => _tally.GetValueOrDefault(attribute);

    /// <summary>Fraction correct; NaN when no clip was scored on the attribute.</summary>
    public double Rate(WorldAttribute attribute) => Of(attribute) is var (c, t) && t > 0 ? c / (double)t : double.NaN;

    /// <summary>One line per attribute that was scored, e.g. "colour      98.5%  (197/200)".</summary>
    public IEnumerable<string> Lines() => Enum.GetValues<WorldAttribute>().Where(a => Of(a).Total > 0)
        .Select(a => $"{WorldAttributes.Word(a),-11} {100 * Rate(a),5:F1}%  ({Of(a).Correct}/{Of(a).Total})");
}
