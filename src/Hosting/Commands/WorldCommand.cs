using System.CommandLine;
using SelfForcing.Hosting.Output;
using SelfForcing.World;

namespace SelfForcing.Hosting.Commands;

/// <summary><c>selfforcing world</c>: writes sample clips of the tiny world (an mp4 and its caption per seed) to look at.</summary>
public static class WorldCommand
{
    public static Command Create(TextWriter? stdout = null, TextWriter? stderr = null)
    {
        var outDir = new Option<string>("--out") { Description = "folder for world_SEED.mp4 and world_SEED.txt (the caption)", DefaultValueFactory = _ => "world" };
        var count = new Option<int>("--count") { Description = "clips to write, seeds SEED, SEED+1, …", DefaultValueFactory = _ => 8 };
        var seed = new Option<long>("--seed") { Description = "seed of the first clip", DefaultValueFactory = _ => 0 };
        var frames = new Option<int>("--frames") { Description = "frames per clip at 16 fps (one latent frame each)", DefaultValueFactory = _ => WorldSettings.Default.Frames };
        var size = new Option<int>("--size") { Description = "world frame width and height in pixels (even)", DefaultValueFactory = _ => WorldSettings.Default.Width };
        var scale = new Option<int>("--scale") { Description = "nearest-neighbour enlargement of the written video", DefaultValueFactory = _ => 2 };
        var world = new WorldFlags();
        var cmd = new Command("world", "Write sample videos of the tiny procedural world with their captions.")
        {
            outDir, count, seed, frames, size, scale, world.Slow, world.Fast, world.Lead, world.Trail, world.Jitter, world.TwoObjects,
        };
        cmd.SetAction((parse, ct) =>
        {
            WorldSettings settings;
            try
            {
                settings = world.Settings(parse, parse.GetValue(frames)) with { Width = parse.GetValue(size), Height = parse.GetValue(size) };
            }
            catch (ArgumentException e)
            {
                (stderr ?? Console.Error).WriteLine($"error: {e.Message.ReplaceLineEndings(" ")}");
                return Task.FromResult(1);
            }
            return RunAsync(parse.GetValue(outDir)!, parse.GetValue(count), parse.GetValue(seed), settings,
                parse.GetValue(scale), stdout ?? Console.Out, stderr ?? Console.Error, ct);
        });
        return cmd;
    }

    public static string ClipName(long seed) => $"world_{seed:D6}";

    public static async Task<int> RunAsync(string outDir, int count, long seed, WorldSettings settings, int scale, TextWriter stdout, TextWriter stderr,
        CancellationToken ct = default)
    {
        try
        {
            if (count < 1) throw new ArgumentException($"--count must be at least 1, got {count}");
            settings.Validate();
            Directory.CreateDirectory(outDir);
            for (long s = seed; s < seed + count; s++)
            {
                var video = WorldVideo.Sample(settings, s);
                var frames = video.Frames.Upscale(scale);
                var file = Path.Combine(outDir, ClipName(s) + ".mp4");
                await using (var writer = Mp4Writer.Open(file, frames.Width, frames.Height, WorldVideo.Fps))
                {
                    await writer.WriteAsync(frames.Data, frames.Count, ct);
                    await writer.CloseAsync();
                }
                var caption = CaptionGrammar.Render(video.Caption);
                await File.WriteAllTextAsync(Path.ChangeExtension(file, ".txt"), caption + "\n", ct);
                stdout.WriteLine($"{file}  {caption}");
            }
            stdout.WriteLine($"wrote {count} clips ({settings.Frames} frames, {settings.Width * scale}x{settings.Height * scale}, {WorldVideo.Fps} fps) to {outDir}");
            return 0;
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException or IOException or UnauthorizedAccessException)
        {
            stderr.WriteLine($"error: {e.Message.ReplaceLineEndings(" ")}");
            return 1;
        }
    }
}
