using System.Diagnostics;

namespace SelfForcing.Actors.Video;

/// <summary>Runs ffmpeg once: bytes in on stdin, bytes out of stdout, its own message on failure.</summary>
public static class FfmpegProcess
{
    /// <summary>The executable; <c>SELFFORCING_FFMPEG</c> overrides the PATH lookup.</summary>
    public static string Executable => Environment.GetEnvironmentVariable("SELFFORCING_FFMPEG") is { Length: > 0 } p ? p : "ffmpeg";

    public static byte[] Run(IReadOnlyList<string> args, byte[] input, TimeSpan? timeout = null)
    {
        var psi = new ProcessStartInfo(Executable)
        {
            RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
        };
        foreach (var a in args) psi.ArgumentList.Add(a);
        Process process;
        try { process = Process.Start(psi) ?? throw new InvalidOperationException("ffmpeg did not start"); }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new InvalidOperationException($"cannot run '{Executable}' ({e.Message}); install it (Debian: apt-get install ffmpeg)", e);
        }
        using (process)
        {
            // stdin, stdout and stderr move concurrently: ffmpeg may fill a pipe before it has read all its input.
            var stdout = new MemoryStream();
            var readOut = process.StandardOutput.BaseStream.CopyToAsync(stdout);
            var readErr = process.StandardError.ReadToEndAsync();
            var write = Task.Run(() =>
            {
                try
                {
                    process.StandardInput.BaseStream.Write(input);
                    process.StandardInput.Close();
                }
                catch (IOException) { } // ffmpeg exited early; its exit code and stderr say why
            });
            if (!process.WaitForExit(timeout ?? TimeSpan.FromMinutes(2)))
            {
                try { process.Kill(entireProcessTree: true); } catch (InvalidOperationException) { }
                throw new TimeoutException($"ffmpeg did not finish within {(timeout ?? TimeSpan.FromMinutes(2)).TotalSeconds:F0}s");
            }
            Task.WaitAll(readOut, readErr, write);
            if (process.ExitCode != 0)
                throw new InvalidOperationException($"ffmpeg failed (exit {process.ExitCode}): {readErr.Result.Trim().ReplaceLineEndings(" ")}");
            return stdout.ToArray();
        }
    }
}
