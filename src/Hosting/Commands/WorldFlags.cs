using System.CommandLine;
using SelfForcing.Hosting.Training;
using SelfForcing.World;

namespace SelfForcing.Hosting.Commands;

/// <summary>The world's flags (speeds, lead, trails, starts, two-object odds), shared by every command that draws clips: <c>world</c>, <c>train world-data</c>, <c>train world-vae</c>.</summary>
public sealed class WorldFlags
{
    public Option<double?> Slow { get; } = new("--slow-speed") { Description = $"a slow object's travel per frame, as a fraction of the width (default {WorldSettings.Default.SlowSpeed:0.####})" };
    public Option<double?> Fast { get; } = new("--fast-speed") { Description = $"a fast object's travel per frame, as a fraction of the width (default {WorldSettings.Default.FastSpeed:0.####})" };
    public Option<int?> Lead { get; } = new("--lead-frames") { Description = $"frames every object moves before it can reach a wall (default {WorldSettings.Default.LeadFrames})" };
    public Option<int?> Trail { get; } = new("--trail-frames") { Description = "fading copies of each object at its last N positions (default none)" };
    public Option<double?> Jitter { get; } = new("--start-jitter") { Description = "share of the free room starts are drawn from: 1 = anywhere (default), 0 = against the wall behind, centred across" };
    public Option<double?> TwoObjects { get; } = new("--two-object-odds") { Description = $"share of clips with a second object (default {WorldSettings.Default.TwoObjectOdds:0.##}); held-out captions keep the default" };

    public WorldSettings Settings(ParseResult p, int frames) =>
        WorldDataRunOptions.WorldFrom(frames, p.GetValue(Slow), p.GetValue(Fast), p.GetValue(Lead), p.GetValue(Trail), p.GetValue(Jitter), p.GetValue(TwoObjects));
}
