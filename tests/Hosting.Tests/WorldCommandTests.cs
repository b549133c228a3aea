using System.Diagnostics;

namespace SelfForcing.Hosting.Tests;

/// <summary><c>selfforcing world</c> writes watchable clips with captions; <c>selfforcing eval-world</c> reads them back
/// through H.264 (as mp4s or as folders of frames) and reports per-attribute accuracy, low for a wrong caption.</summary>
public sealed class WorldCommandTests : IDisposable
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("sf-world-cli-");

    private static (int Rc, string Out, string Err) RunCli(params string[] args)
    {
        var (stdout, stderr) = (new StringWriter(), new StringWriter());
        int rc = Cli.Run(args, stdout, stderr);
        return (rc, stdout.ToString(), stderr.ToString());
    }

    private string Sample(int count, long seed)
    {
        var outDir = Path.Combine(_dir.FullName, $"clips-{seed}");
        var r = RunCli("world", "--out", outDir, "--count", count.ToString(), "--seed", seed.ToString());
        Assert.True(r.Rc == 0, r.Err);
        return outDir;
    }

    [Fact]
    public void World_sample_match_keeps_only_the_captions_with_those_words_and_refuses_words_no_caption_has()
    {
        var outDir = Path.Combine(_dir.FullName, "matched");
        var r = RunCli("world-sample", "--out", outDir, "--count", "2", "--match", "A red square", "--chunks", "1");
        Assert.True(r.Rc == 0, r.Err);
        Assert.Contains("2 clips", r.Out);
        var captions = Directory.GetFiles(outDir, "*.txt").Select(File.ReadAllText).ToList();
        Assert.Equal(2, captions.Count);
        Assert.All(captions, c => Assert.Contains("a red square", c));
        // Held-out seeds in order: the first two red squares, so at least one seed before them was skipped (1 in ~20 matches).
        var seeds = Directory.GetFiles(outDir, "*.txt").Select(f => long.Parse(Path.GetFileNameWithoutExtension(f).Split('_')[1])).Order().ToList();
        Assert.True(seeds[1] > 9_000_001, $"seeds {string.Join(",", seeds)}");

        var unknown = RunCli("world-sample", "--out", outDir, "--count", "1", "--match", "a purple square");
        Assert.Equal(1, unknown.Rc);
        Assert.Contains("'purple'", unknown.Err);
        var never = RunCli("world-sample", "--out", outDir, "--count", "1", "--match", "square square");
        Assert.Equal(1, never.Rc);
        Assert.Contains("0 of 1 captions", never.Err);
    }

    [Fact]
    public void World_sample_refuses_a_vae_without_a_teacher_or_checkpoint()
    {
        var alone = RunCli("world-sample", "--out", Path.Combine(_dir.FullName, "v"), "--count", "1", "--vae", "x.safetensors");
        Assert.Equal(1, alone.Rc);
        Assert.Contains("--vae goes with --teacher or --checkpoint", alone.Err);
    }

    [Fact]
    public void World_writes_clips_that_eval_world_reads_back_right()
    {
        var outDir = Sample(3, 21);
        var clips = Directory.GetFiles(outDir, "*.mp4").Order().ToList();
        Assert.Equal(3, clips.Count);
        foreach (var clip in clips)
        {
            Assert.Equal("64,64,21", Run("ffprobe", "-v", "error", "-count_frames", "-select_streams", "v:0",
                "-show_entries", "stream=width,height,nb_read_frames", "-of", "csv=p=0", clip).Trim());
            World.CaptionGrammar.Parse(File.ReadAllText(Path.ChangeExtension(clip, ".txt")));
        }

        var r = RunCli("eval-world", outDir);
        Assert.True(r.Rc == 0, r.Err);
        Assert.Contains("3 clips", r.Out);
        Assert.Equal(3, r.Out.Split('\n').Count(l => l.StartsWith("ok ", StringComparison.Ordinal)));
        foreach (var attribute in new[] { "colour", "shape", "direction" })
            Assert.Matches($@"(?m)^{attribute}\s+100\.0%\s+\(\d+/\d+\)", r.Out);
    }

    [Fact]
    public void A_folder_of_frames_is_read_with_the_given_caption_and_a_wrong_caption_scores_low()
    {
        var outDir = Sample(1, 77);
        var clip = Directory.GetFiles(outDir, "*.mp4").Single();
        var caption = File.ReadAllText(Path.ChangeExtension(clip, ".txt")).Trim();
        var frames = Directory.CreateDirectory(Path.Combine(_dir.FullName, "frames")).FullName;
        Run("ffmpeg", "-v", "error", "-i", clip, Path.Combine(frames, "frame_%03d.png"));
        Assert.Equal(21, Directory.GetFiles(frames, "*.png").Length);

        var right = RunCli("eval-world", frames, "--caption", caption);
        Assert.True(right.Rc == 0, right.Err);
        Assert.Contains("ok ", right.Out);

        // Another colour, shape and direction than the clip's: the evaluator must say so.
        var truth = Assert.Single(World.CaptionGrammar.Parse(caption).Objects); // seed 77 draws one object
        var wrongObject = new World.CaptionObject(
            (World.ObjectColour)(((int)truth.Colour + 1) % 5), (World.ObjectShape)(((int)truth.Shape + 1) % 3),
            (World.MotionDirection)(((int)truth.Direction + 1) % 4));
        var wrongCaption = World.CaptionGrammar.Render(new World.WorldCaption([wrongObject]));
        var wrong = RunCli("eval-world", frames, "--caption", wrongCaption);
        Assert.True(wrong.Rc == 0, wrong.Err);
        Assert.Contains("miss ", wrong.Out);
        foreach (var attribute in new[] { "colour", "shape", "direction" })
            Assert.Matches($@"(?m)^{attribute}\s+0\.0%\s+\(0/1\)", wrong.Out);
    }

    [Fact]
    public void World_takes_the_world_flags_of_the_training_commands()
    {
        string[] shipped = ["--frames", "9", "--slow-speed", "0.041667", "--fast-speed", "0.071429", "--lead-frames", "8", "--start-jitter", "0.25"];
        var plain = Path.Combine(_dir.FullName, "plain");
        var trails = Path.Combine(_dir.FullName, "trails");
        Assert.Equal(0, RunCli(["world", "--out", plain, "--count", "2", "--seed", "40", .. shipped]).Rc);
        var r = RunCli(["world", "--out", trails, "--count", "2", "--seed", "40", "--trail-frames", "3", .. shipped]);
        Assert.True(r.Rc == 0, r.Err);
        Assert.Contains("9 frames", r.Out);
        foreach (var name in new[] { "world_000040", "world_000041" })
        {
            // Trails are drawn, not sampled: the same scene and caption, other pixels.
            Assert.Equal(File.ReadAllText(Path.Combine(plain, name + ".txt")), File.ReadAllText(Path.Combine(trails, name + ".txt")));
            Assert.NotEqual(File.ReadAllBytes(Path.Combine(plain, name + ".mp4")), File.ReadAllBytes(Path.Combine(trails, name + ".mp4")));
        }

        var tooLong = RunCli("world", "--out", trails, "--lead-frames", "40");
        Assert.Equal(1, tooLong.Rc);
        Assert.Contains("--lead-frames 40", tooLong.Err);
    }

    [Fact]
    public void Measures_show_what_each_objects_shape_was_read_from()
    {
        var outDir = Sample(6, 300);
        var r = RunCli("eval-world", outDir, "--measures");
        Assert.True(r.Rc == 0, r.Err);
        var measures = System.Text.RegularExpressions.Regex.Matches(r.Out,
            @"(?m)^ {6}(\w+) (circle|square|triangle): fill ([\d.]+), depth ([\d.]+), speed ([\d.]+), area ([\d.]+), frames (\d+)$");
        int objects = Directory.GetFiles(outDir, "*.txt").Sum(f => World.CaptionGrammar.Parse(File.ReadAllText(f)).Objects.Count);
        Assert.Equal(objects, measures.Count);
        foreach (System.Text.RegularExpressions.Match m in measures)
        {
            double fill = double.Parse(m.Groups[3].Value, System.Globalization.CultureInfo.InvariantCulture);
            double depth = double.Parse(m.Groups[4].Value, System.Globalization.CultureInfo.InvariantCulture);
            // The printed measures are the ones the shape was read from.
            var expected = depth >= World.Evaluation.WorldEvaluator.TriangleMinDepth ? "triangle"
                : fill >= World.Evaluation.WorldEvaluator.SquareMinFill ? "square" : "circle";
            Assert.Equal(expected, m.Groups[2].Value);
        }
        Assert.DoesNotMatch(@"(?m)^ {6}\w+ \w+: fill", RunCli("eval-world", outDir).Out);
    }

    [Fact]
    public void Missing_or_ungrammatical_captions_are_errors()
    {
        var outDir = Sample(1, 5);
        var clip = Directory.GetFiles(outDir, "*.mp4").Single();
        File.Delete(Path.ChangeExtension(clip, ".txt"));
        var none = RunCli("eval-world", clip);
        Assert.Equal(1, none.Rc);
        Assert.Contains("no caption", none.Err);

        var bad = RunCli("eval-world", clip, "--caption", "a crimson circle moves left");
        Assert.Equal(1, bad.Rc);
        Assert.Contains("'crimson'", bad.Err);

        var missing = RunCli("eval-world", Path.Combine(_dir.FullName, "nothing-here.mp4"));
        Assert.Equal(1, missing.Rc);
    }

    private static string Run(string exe, params string[] args)
    {
        var psi = new ProcessStartInfo(exe, args) { RedirectStandardOutput = true, RedirectStandardError = true };
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEnd();
        p.WaitForExit();
        Assert.True(p.ExitCode == 0, $"{exe}: {stderr}");
        return stdout.Result;
    }

    public void Dispose() => _dir.Delete(true);
}
