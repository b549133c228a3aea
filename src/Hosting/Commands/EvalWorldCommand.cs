using System.CommandLine;
using SelfForcing.Hosting.Output;
using SelfForcing.World;
using SelfForcing.World.Evaluation;

namespace SelfForcing.Hosting.Commands;

/// <summary>
/// <c>selfforcing eval-world</c>: reads videos (or folders of frames) of the tiny world, recovers background, colour,
/// shape and motion with <see cref="WorldEvaluator"/>, and prints how often they match the captions, per attribute.
/// </summary>
public static class EvalWorldCommand
{
    public static readonly string[] VideoExtensions = [".mp4", ".mkv", ".webm", ".mov", ".avi"];

    public static Command Create(TextWriter? stdout = null, TextWriter? stderr = null)
    {
        var paths = new Argument<string[]>("paths")
        {
            Description = "videos, folders of videos (each with a .txt caption beside it), or folders of frames (frame_000.png, …; caption in caption.txt)",
            Arity = ArgumentArity.OneOrMore,
        };
        var caption = new Option<string?>("--caption") { Description = "the caption of every clip given, instead of the .txt files" };
        var measures = new Option<bool>("--measures") { Description = "also print, per object, what its shape and speed were read from (fill of its box, centroid depth, speed)" };
        var cmd = new Command("eval-world", "Score videos of the tiny world against their captions: per-attribute accuracy.") { paths, caption, measures };
        cmd.SetAction(parse => Run(parse.GetValue(paths)!, parse.GetValue(caption), stdout ?? Console.Out, stderr ?? Console.Error, parse.GetValue(measures)));
        return cmd;
    }

    private sealed record Clip(string Name, string Caption, Func<RgbFrames> Read);

    public static int Run(IReadOnlyList<string> paths, string? caption, TextWriter stdout, TextWriter stderr, bool measures = false)
    {
        try
        {
            var clips = paths.SelectMany(p => Clips(p, caption)).ToList();
            var evaluator = new WorldEvaluator();
            var accuracy = new WorldAccuracy();
            foreach (var clip in clips)
            {
                var want = CaptionGrammar.Parse(clip.Caption);
                var seen = evaluator.Observe(clip.Read());
                var score = WorldScore.Of(want, seen);
                accuracy.Add(score);
                var wrong = score.Checks.Where(c => !c.Correct).Select(c => WorldAttributes.Word(c.Attribute)).Distinct().ToList();
                stdout.WriteLine(wrong.Count == 0
                    ? $"ok    {clip.Name}  \"{clip.Caption}\""
                    : $"miss  {clip.Name}  \"{clip.Caption}\"  seen \"{seen}\"  wrong: {string.Join(", ", wrong)}");
                if (measures)
                    foreach (var o in seen.Objects)
                        stdout.WriteLine(FormattableString.Invariant(
                            $"      {WorldAttributes.Word(o.Colour)} {WorldAttributes.Word(o.Shape)}: fill {o.FillRatio:0.000}, depth {o.CentroidDepth:0.000}, speed {o.SpeedPerFrame:0.0000}, area {o.MeanArea:0.0}, frames {o.FramesSeen}"));
            }
            stdout.WriteLine($"{accuracy.Clips} clips");
            foreach (var line in accuracy.Lines()) stdout.WriteLine(line);
            return 0;
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException or IOException or FormatException or InvalidDataException
                                      or UnauthorizedAccessException or TimeoutException)
        {
            stderr.WriteLine($"error: {e.Message.ReplaceLineEndings(" ")}");
            return 1;
        }
    }

    private static IEnumerable<Clip> Clips(string path, string? caption)
    {
        if (File.Exists(path)) return [Video(path, caption)];
        if (!Directory.Exists(path)) throw new FileNotFoundException($"no such file or folder: {path}", path);
        var videos = Directory.EnumerateFiles(path).Where(IsVideo).Order(StringComparer.Ordinal).ToList();
        if (videos.Count > 0) return videos.Select(v => Video(v, caption));
        if (RgbVideoReader.ImagesIn(path).Count == 0)
            throw new FileNotFoundException($"{path} holds neither videos ({string.Join(", ", VideoExtensions)}) nor frames ({string.Join(", ", RgbVideoReader.ImageExtensions)})");
        return [new Clip(path, caption ?? CaptionFile(Path.Combine(path, "caption.txt")), () => RgbVideoReader.ReadFrames(path))];
    }

    private static bool IsVideo(string file) => VideoExtensions.Contains(Path.GetExtension(file).ToLowerInvariant());

    private static Clip Video(string file, string? caption) =>
        new(file, caption ?? CaptionFile(Path.ChangeExtension(file, ".txt")), () => RgbVideoReader.ReadVideo(file));

    private static string CaptionFile(string file) => File.Exists(file)
        ? File.ReadAllText(file).Trim()
        : throw new FileNotFoundException($"no caption: give --caption or write it to {file}", file);
}
