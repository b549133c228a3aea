using System.Diagnostics;
using SelfForcing.Actors.Video;
using SelfForcing.World;

namespace SelfForcing.Hosting.Output;

/// <summary>Decodes a video file, or a folder of numbered still images, to RGB24 frames with ffmpeg (ffprobe gives the size).</summary>
public static class RgbVideoReader
{
    public static readonly string[] ImageExtensions = [".png", ".jpg", ".jpeg", ".bmp", ".ppm"];

    public static RgbFrames ReadVideo(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"no such video: {path}", path);
        var (width, height) = Size(path);
        return RgbFrames.FromBytes(Decode(["-i", path]), width, height);
    }

    /// <summary>The folder's images in file-name order (name them frame_000.png, frame_001.png, …), all of one size.</summary>
    public static RgbFrames ReadFrames(string folder)
    {
        var images = ImagesIn(folder);
        if (images.Count == 0)
            throw new FileNotFoundException($"no frames ({string.Join(", ", ImageExtensions)}) in {folder}");
        var (width, height) = Size(images[0]);
        // ffmpeg's concat demuxer takes an explicit list: name order, any names, no glob quoting.
        var list = Path.Combine(Path.GetTempPath(), $"sf-frames-{Guid.NewGuid():N}.txt");
        File.WriteAllLines(list, images.Select(i => $"file '{Path.GetFullPath(i).Replace("'", @"'\''")}'"));
        try
        {
            return RgbFrames.FromBytes(Decode(["-f", "concat", "-safe", "0", "-i", list]), width, height);
        }
        finally { File.Delete(list); }
    }

    public static IReadOnlyList<string> ImagesIn(string folder) => Directory.EnumerateFiles(folder)
        .Where(f => ImageExtensions.Contains(Path.GetExtension(f).ToLowerInvariant()))
        .Order(StringComparer.Ordinal).ToList();

    private static byte[] Decode(IEnumerable<string> input) =>
        FfmpegProcess.Run(["-hide_banner", "-loglevel", "error", "-nostdin", .. input, "-f", "rawvideo", "-pix_fmt", "rgb24", "-"], []);

    private static (int Width, int Height) Size(string file)
    {
        var ffmpeg = FfmpegProcess.Executable;
        var dir = Path.GetDirectoryName(ffmpeg);
        var psi = new ProcessStartInfo(string.IsNullOrEmpty(dir) ? "ffprobe" : Path.Combine(dir, "ffprobe"))
        {
            RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
        };
        foreach (var a in new[] { "-v", "error", "-select_streams", "v:0", "-show_entries", "stream=width,height", "-of", "csv=p=0", file })
            psi.ArgumentList.Add(a);
        Process process;
        try { process = Process.Start(psi) ?? throw new InvalidOperationException("ffprobe did not start"); }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new InvalidOperationException($"cannot run ffprobe ({e.Message}); install ffmpeg (Debian: apt-get install ffmpeg)", e);
        }
        using (process)
        {
            var stdout = process.StandardOutput.ReadToEndAsync();
            var stderr = process.StandardError.ReadToEndAsync();
            if (!process.WaitForExit(TimeSpan.FromMinutes(1))) { process.Kill(); throw new TimeoutException($"ffprobe did not finish on {file}"); }
            var parts = stdout.Result.Trim().Split(',');
            if (process.ExitCode != 0 || parts.Length != 2 || !int.TryParse(parts[0], out int w) || !int.TryParse(parts[1], out int h))
                throw new InvalidDataException($"{file} is not a video or image ffprobe can read: {stderr.Result.Trim().ReplaceLineEndings(" ")}");
            return (w, h);
        }
    }
}
