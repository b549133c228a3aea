using SelfForcing.World.Evaluation;
using Xunit.Abstractions;

namespace SelfForcing.World.Tests;

/// <summary>The evaluator against the world's own ground truth: it must read nearly every clip right, read the same
/// through the latent map and an enlarged decode, and score a clip against another clip's caption as wrong.</summary>
public sealed class WorldEvaluatorTests(ITestOutputHelper output)
{
    /// <summary>Seeds far from the 0..999 the thresholds were looked at on, so this set is fresh.</summary>
    private const long FreshSeeds = 7_000_000;
    private const int Clips = 240;

    private static WorldAccuracy Measure(IEnumerable<(WorldCaption Caption, RgbFrames Frames)> clips, WorldSettings? settings = null)
    {
        var evaluator = new WorldEvaluator(settings);
        var accuracy = new WorldAccuracy();
        foreach (var (caption, frames) in clips) accuracy.Add(WorldScore.Of(caption, evaluator.Observe(frames)));
        return accuracy;
    }

    private static IEnumerable<WorldVideo> Fresh(int count, WorldSettings? settings = null) =>
        Enumerable.Range(0, count).Select(i => WorldVideo.Sample(settings ?? WorldSettings.Default, FreshSeeds + i));

    /// <summary>The default world, and a faster one whose objects leave trails (their faded colours must not be read as objects).</summary>
    public static TheoryData<double, double, int, int> Worlds => new()
    {
        { WorldSettings.Default.SlowSpeed, WorldSettings.Default.FastSpeed, WorldSettings.Default.LeadFrames, 0 },
        { 1 / 24.0, 1 / 14.0, 8, 3 },
    };

    [Theory]
    [MemberData(nameof(Worlds))]
    public void Reads_at_least_98_percent_of_ground_truth_colours_shapes_and_directions(double slow, double fast, int lead, int trail)
    {
        var settings = WorldSettings.Default with { SlowSpeed = slow, FastSpeed = fast, LeadFrames = lead, TrailFrames = trail };
        // Full captions (background and speed named) so every attribute is scored on every clip.
        var accuracy = Measure(Fresh(Clips, settings).Select(v => (WorldCaption.Of(v.Scene), v.Frames)), settings);
        foreach (var line in accuracy.Lines()) output.WriteLine(line);
        Assert.Equal(Clips, accuracy.Clips);
        Assert.True(accuracy.Of(WorldAttribute.Colour).Total >= Clips);
        foreach (var a in new[] { WorldAttribute.Colour, WorldAttribute.Shape, WorldAttribute.Direction, WorldAttribute.Background })
            Assert.True(accuracy.Rate(a) >= 0.98, $"{a}: {accuracy.Rate(a):P1}");
    }

    [Fact]
    public void Reads_the_same_through_the_latent_map_and_an_enlarged_decode()
    {
        var clips = Fresh(40).Select(v =>
        {
            using var latents = WorldLatents.Encode(v.Frames);
            return (WorldCaption.Of(v.Scene), WorldLatents.ToRgb(WorldLatents.Decode(latents)).Upscale(2));
        });
        var accuracy = Measure(clips);
        foreach (var line in accuracy.Lines()) output.WriteLine(line);
        foreach (var a in new[] { WorldAttribute.Colour, WorldAttribute.Shape, WorldAttribute.Direction })
            Assert.True(accuracy.Rate(a) >= 0.95, $"{a}: {accuracy.Rate(a):P1}");
    }

    [Fact]
    public void Scores_a_clip_against_another_clips_caption_as_mostly_wrong()
    {
        var videos = Fresh(100).ToList();
        // Each clip against the next clip's caption: attributes agree only by chance (1/5 colours, 1/3 shapes, 1/4 directions).
        var accuracy = Measure(videos.Select((v, i) => (WorldCaption.Of(videos[(i + 1) % videos.Count].Scene), v.Frames)));
        foreach (var line in accuracy.Lines()) output.WriteLine(line);
        Assert.True(accuracy.Rate(WorldAttribute.Colour) < 0.45, $"colour {accuracy.Rate(WorldAttribute.Colour):P1}");
        Assert.True(accuracy.Rate(WorldAttribute.Shape) < 0.6, $"shape {accuracy.Rate(WorldAttribute.Shape):P1}");
        Assert.True(accuracy.Rate(WorldAttribute.Direction) < 0.5, $"direction {accuracy.Rate(WorldAttribute.Direction):P1}");
    }

    [Fact]
    public void A_blank_clip_has_no_objects_and_fails_every_object_attribute()
    {
        var v = WorldVideo.Sample(WorldSettings.Default, 1);
        var blank = WorldVideo.Render(v.Scene with { Objects = [v.Scene.Objects[0] with { Size = 0.5 }] });
        var seen = new WorldEvaluator().Observe(blank);
        Assert.Empty(seen.Objects);
        Assert.Equal(v.Scene.Background, seen.Background);
        var score = WorldScore.Of(WorldCaption.Of(v.Scene), seen);
        Assert.All(score.Checks.Where(c => c.Attribute != WorldAttribute.Background), c => Assert.False(c.Correct));
    }
}
