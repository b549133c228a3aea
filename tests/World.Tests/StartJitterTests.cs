namespace SelfForcing.World.Tests;

/// <summary><see cref="WorldSettings.StartJitter"/>: how much of the free room an object's start is drawn from.</summary>
public sealed class StartJitterTests
{
    private static readonly WorldSettings Fast = WorldSettings.Default with { Frames = 9, SlowSpeed = 1 / 24.0, FastSpeed = 1 / 14.0, LeadFrames = 8 };

    // Where in its free room an object starts, from the wall behind it (0) to the farthest start the lead allows (1),
    // and across, from one side (0) to the other (1).
    private static (double Along, double Across) Place(WorldObject o, WorldSettings s)
    {
        double along = (o.Direction.IsHorizontal() ? s.Width : s.Height) - o.Size;
        double across = (o.Direction.IsHorizontal() ? s.Height : s.Width) - o.Size;
        double room = along - s.LeadFrames * o.PixelsPerFrame;
        double start = o.Direction.IsHorizontal() ? o.X : o.Y;
        double fromBehind = o.Direction.Sign() > 0 ? start : along - start;
        return (fromBehind / room, (o.Direction.IsHorizontal() ? o.Y : o.X) / across);
    }

    private static IEnumerable<(double Along, double Across)> FirstObjects(WorldSettings s) =>
        Enumerable.Range(0, 300).Select(seed => Place(WorldVideo.Sample(s, seed).Scene.Objects[0], s));

    [Fact]
    public void Starts_come_from_the_set_share_of_the_room_nearest_the_wall_behind_and_around_the_middle()
    {
        var full = FirstObjects(Fast).ToArray();
        var quarter = FirstObjects(Fast with { StartJitter = 0.25 }).ToArray();
        var none = FirstObjects(Fast with { StartJitter = 0 }).ToArray();
        const double eps = 1e-9;
        Assert.All(none, p => { Assert.InRange(p.Along, -eps, eps); Assert.InRange(p.Across, 0.5 - eps, 0.5 + eps); });
        Assert.All(quarter, p => { Assert.InRange(p.Along, -eps, 0.25 + eps); Assert.InRange(p.Across, 0.375 - eps, 0.625 + eps); });
        Assert.All(full, p => { Assert.InRange(p.Along, -eps, 1 + eps); Assert.InRange(p.Across, -eps, 1 + eps); });
        // The full range is used, not only its near end.
        Assert.Contains(full, p => p.Along > 0.75);
        Assert.Contains(full, p => p.Across < 0.1);
        Assert.Contains(quarter, p => p.Along > 0.2);
    }

    [Fact]
    public void The_default_is_the_whole_room_and_out_of_range_shares_are_refused()
    {
        Assert.Equal(1.0, WorldSettings.Default.StartJitter);
        Assert.Equal(WorldVideo.Sample(Fast, 7).Frames.Data, WorldVideo.Sample(Fast with { StartJitter = 1 }, 7).Frames.Data);
        var e = Assert.Throws<ArgumentException>(() => (WorldSettings.Default with { StartJitter = 1.5 }).Validate());
        Assert.Contains("start jitter (1.5)", e.Message);
        Assert.Throws<ArgumentException>(() => (WorldSettings.Default with { StartJitter = -0.1 }).Validate());
    }

    [Fact]
    public void Two_objects_still_find_room_with_no_jitter()
    {
        var s = Fast with { StartJitter = 0, TwoObjectOdds = 1 };
        for (int seed = 0; seed < 40; seed++) Assert.Equal(2, WorldVideo.Sample(s, seed).Scene.Objects.Count);
    }
}
