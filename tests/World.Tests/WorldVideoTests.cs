namespace SelfForcing.World.Tests;

/// <summary>The generator: reproducible from a seed, palette-only frames, objects that bounce inside the frame and
/// start out moving the way the caption says.</summary>
public sealed class WorldVideoTests
{
    [Fact]
    public void The_same_seed_gives_the_same_clip_and_other_seeds_other_clips()
    {
        var a = WorldVideo.Sample(WorldSettings.Default, 42);
        var b = WorldVideo.Sample(WorldSettings.Default, 42);
        Assert.Equal(a.Frames.Data, b.Frames.Data);
        Assert.Equal(a.Caption, b.Caption);
        var distinct = Enumerable.Range(0, 20).Select(s => Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(
            WorldVideo.Sample(WorldSettings.Default, s).Frames.Data))).Distinct().Count();
        Assert.Equal(20, distinct);
    }

    [Fact]
    public void Frames_hold_only_the_background_and_the_scene_colours()
    {
        for (int seed = 0; seed < 30; seed++)
        {
            var v = WorldVideo.Sample(WorldSettings.Default, seed);
            var allowed = v.Scene.Objects.Select(o => WorldPalette.Of(o.Colour)).Append(WorldPalette.Of(v.Scene.Background)).ToHashSet();
            var present = new HashSet<(byte, byte, byte)>();
            for (int f = 0; f < v.Frames.Count; f++)
                for (int y = 0; y < v.Frames.Height; y++)
                    for (int x = 0; x < v.Frames.Width; x++)
                        present.Add(v.Frames.Pixel(f, x, y));
            Assert.Subset(allowed, present);
            Assert.Contains(WorldPalette.Of(v.Scene.Background), present);
        }
    }

    [Fact]
    public void Objects_bounce_inside_the_frame_at_constant_speed_and_start_the_way_they_are_named()
    {
        var settings = WorldSettings.Default with { Frames = 200 };
        for (int seed = 0; seed < 100; seed++)
        {
            var scene = WorldSceneSampler.Sample(settings, new Random(seed));
            foreach (var o in scene.Objects)
            {
                double along = (o.Direction.IsHorizontal() ? scene.Width : scene.Height) - o.Size;
                int reversals = 0, lastSign = o.Direction.Sign();
                for (int t = 0; t + 1 < scene.Frames; t++)
                {
                    var (x0, y0) = o.At(t, scene.Width, scene.Height);
                    var (x1, y1) = o.At(t + 1, scene.Width, scene.Height);
                    double p = o.Direction.IsHorizontal() ? x1 : y1, step = o.Direction.IsHorizontal() ? x1 - x0 : y1 - y0;
                    Assert.InRange(p, -1e-9, along + 1e-9);
                    Assert.Equal(o.Direction.IsHorizontal() ? y0 : x0, o.Direction.IsHorizontal() ? y1 : x1); // no drift across the axis
                    Assert.True(Math.Abs(step) <= o.PixelsPerFrame + 1e-9, $"seed {seed}: step {step} faster than {o.PixelsPerFrame}");
                    if (t < settings.LeadFrames)
                        Assert.Equal(o.PixelsPerFrame * o.Direction.Sign(), step, 9);
                    if (Math.Abs(step) > 1e-9 && Math.Sign(step) != lastSign) { reversals++; lastSign = Math.Sign(step); }
                }
                // 200 frames cover at least one wall-to-wall crossing at the slow speed, so every object bounces.
                Assert.True(reversals >= 1, $"seed {seed}: {o} never bounced");
            }
        }
    }

    [Fact]
    public void Trails_lie_behind_each_object_in_colours_nearer_the_background_than_any_object()
    {
        var settings = WorldSettings.Default with { Frames = 9, SlowSpeed = 1 / 24.0, FastSpeed = 1 / 14.0, LeadFrames = 8, TrailFrames = 3 };
        for (int seed = 0; seed < 40; seed++)
        {
            var v = WorldVideo.Sample(settings, seed);
            var o = v.Scene.Objects[^1]; // drawn last, so its box is never covered
            var bg = WorldPalette.Of(v.Scene.Background);
            var trail = Enumerable.Range(1, 3).Select(k => WorldVideo.TrailColour(WorldPalette.Of(o.Colour), bg, k, 3)).ToHashSet();
            foreach (int t in new[] { 0, 8 })
            {
                var (x, y) = o.At(t, v.Scene.Width, v.Scene.Height);
                // One pixel outside the box's middle, behind and ahead along the motion.
                double cx = x + o.Size / 2, cy = y + o.Size / 2, reach = o.Size / 2 + 1;
                var (bx, by) = o.Direction.IsHorizontal() ? (cx - o.Direction.Sign() * reach, cy) : (cx, cy - o.Direction.Sign() * reach);
                var (ax, ay) = o.Direction.IsHorizontal() ? (cx + o.Direction.Sign() * reach, cy) : (cx, cy + o.Direction.Sign() * reach);
                if (o.Shape == ObjectShape.Triangle) continue; // narrower than its box across the middle: the box's edge is not its edge
                bool Inside(double px, double py) => px >= 0 && py >= 0 && px < v.Scene.Width && py < v.Scene.Height;
                if (Inside(bx, by) && v.Scene.Objects.Count == 1)
                    Assert.Contains(v.Frames.Pixel(t, (int)bx, (int)by), trail);
                if (Inside(ax, ay) && v.Scene.Objects.Count == 1)
                    Assert.Equal(bg, v.Frames.Pixel(t, (int)ax, (int)ay));
            }
        }
        static int D((byte R, byte G, byte B) a, (byte R, byte G, byte B) b) =>
            (a.R - b.R) * (a.R - b.R) + (a.G - b.G) * (a.G - b.G) + (a.B - b.B) * (a.B - b.B);
        foreach (var b in Enum.GetValues<WorldBackground>())
            foreach (var c in Enum.GetValues<ObjectColour>())
                for (int k = 1; k <= 3; k++)
                {
                    var faded = WorldVideo.TrailColour(WorldPalette.Of(c), WorldPalette.Of(b), k, 3);
                    Assert.All(Enum.GetValues<ObjectColour>(), other => Assert.True(D(faded, WorldPalette.Of(b)) < D(faded, WorldPalette.Of(other)),
                        $"{c} trail {k} on {b} is nearer {other} than the background"));
                }
        Assert.Throws<ArgumentException>(() => (WorldSettings.Default with { TrailFrames = 9 }).Validate());
        Assert.Throws<ArgumentException>(() => WorldVideo.Render(WorldVideo.Sample(settings, 0).Scene with { TrailFrames = -1 }));
    }

    [Fact]
    public void Two_object_scenes_come_at_the_set_odds_with_distinct_colours()
    {
        var scenes = Enumerable.Range(0, 400).Select(s => WorldSceneSampler.Sample(WorldSettings.Default, new Random(s))).ToList();
        int two = scenes.Count(s => s.Objects.Count == 2);
        Assert.InRange(two, 400 * 0.15, 400 * 0.35); // 25% odds; a binomial(400, 0.25) stays within ±5 sd here
        Assert.All(scenes.Where(s => s.Objects.Count == 2), s => Assert.NotEqual(s.Objects[0].Colour, s.Objects[1].Colour));
        Assert.Throws<ArgumentException>(() => (scenes.First(s => s.Objects.Count == 2) with
        {
            Objects = [scenes[0].Objects[0], scenes[0].Objects[0]],
        }).Validate());
    }

    [Theory]
    [InlineData(5667)]
    [InlineData(19933)]
    [InlineData(55531)]
    public void A_crowded_first_object_is_drawn_again_rather_than_failing_the_clip(long seed)
    {
        // These seeds' first box left no room for a second (the sampler gave up on them before).
        var video = WorldVideo.Sample(WorldSettings.Default, seed);
        Assert.Equal(2, video.Scene.Objects.Count);
        var (a, b) = (video.Scene.Objects[0], video.Scene.Objects[1]);
        Assert.True(a.X + a.Size + 1 <= b.X || b.X + b.Size + 1 <= a.X || a.Y + a.Size + 1 <= b.Y || b.Y + b.Size + 1 <= a.Y,
            $"seed {seed}: the objects overlap at frame 0");
        Assert.NotEqual(a.Colour, b.Colour);
    }
}
