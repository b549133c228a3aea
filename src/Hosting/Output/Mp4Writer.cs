using System.Diagnostics;

namespace SelfForcing.Hosting.Output;

/// <summary>Pipes RGB24 frames into ffmpeg, which writes an H.264 (yuv420p) mp4, as the reference's write_video does.</summary>
public sealed class Mp4Writer : IAsyncDisposable
{
    private readonly Process _ffmpeg;
    private readonly Stream _stdin;
    private readonly Task<string> _stderr;
    private bool _closed;

    public string Path { get; }
    public int Width { get; }
    public int Height { get; }
    public long FramesWritten { get; private set; }

    private Mp4Writer(string path, int width, int height, Process ffmpeg)
    {
        Path = path; Width = width; Height = height; _ffmpeg = ffmpeg;
        _stdin = ffmpeg.StandardInput.BaseStream;
        _stderr = ffmpeg.StandardError.ReadToEndAsync();
    }

    public static Mp4Writer Open(string path, int width, int height, int fps, string ffmpeg = "ffmpeg")
    {
        if (width % 2 != 0 || height % 2 != 0) throw new ArgumentException($"H.264 needs even frame sizes, got {width}x{height}");
        var psi = new ProcessStartInfo(ffmpeg)
        {
            RedirectStandardInput = true, RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false,
        };
        foreach (var a in new[] { "-hide_banner", "-loglevel", "error", "-y", "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", $"{width}x{height}",
                     "-r", fps.ToString(), "-i", "-", "-c:v", "libx264", "-pix_fmt", "yuv420p", "-movflags", "+faststart", path })
            psi.ArgumentList.Add(a);
        Process process;
        try { process = Process.Start(psi) ?? throw new InvalidOperationException("ffmpeg did not start"); }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new InvalidOperationException($"cannot run '{ffmpeg}' ({e.Message}); install it (Debian: apt-get install ffmpeg)", e);
        }
        return new Mp4Writer(path, width, height, process);
    }

    public async Task WriteAsync(byte[] rgb, int frames, CancellationToken ct = default)
    {
        if (rgb.Length != (long)frames * Width * Height * 3)
            throw new ArgumentException($"{rgb.Length} bytes is not {frames} frames of {Width}x{Height} RGB24");
        try { await _stdin.WriteAsync(rgb, ct); }
        catch (IOException e) { throw new InvalidOperationException($"ffmpeg stopped accepting frames: {await Stderr()}", e); }
        FramesWritten += frames;
    }

    private async Task<string> Stderr() => (await _stderr).Trim();

    /// <summary>Finishes the file; throws with ffmpeg's message if it failed.</summary>
    public async Task CloseAsync()
    {
        if (_closed) return;
        _closed = true;
        await _stdin.DisposeAsync();
        await _ffmpeg.WaitForExitAsync();
        if (_ffmpeg.ExitCode != 0) throw new InvalidOperationException($"ffmpeg failed with exit code {_ffmpeg.ExitCode}: {await Stderr()}");
    }

    public async ValueTask DisposeAsync()
    {
        if (!_closed)
        {
            _closed = true;
            try { await _stdin.DisposeAsync(); } catch (IOException) { }
            if (!_ffmpeg.WaitForExit(5000)) _ffmpeg.Kill();
        }
        _ffmpeg.Dispose();
    }
}
