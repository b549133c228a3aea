using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text;

namespace SelfForcing.Hosting.Tests.Serving;

/// <summary>
/// <c>selfforcing serve</c> as a real child process: its output collected as it comes, a wait for a ready line,
/// SIGTERM, and a kill on dispose so a failed test never leaves a server running.
/// </summary>
public sealed class ServeProcess : IDisposable
{
    [DllImport("libc", SetLastError = true)]
    private static extern int kill(int pid, int sig);

    private readonly StringBuilder _stdout = new();
    private readonly List<(string Prefix, TaskCompletionSource Seen)> _waits = new();

    public Process Process { get; }
    /// <summary>Everything the process writes to stderr, complete once it has exited.</summary>
    public Task<string> Stderr { get; }

    private ServeProcess(Process process)
    {
        Process = process;
        Stderr = process.StandardError.ReadToEndAsync();
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is null) return;
            lock (_stdout)
            {
                _stdout.AppendLine(e.Data);
                foreach (var (prefix, seen) in _waits)
                    if (e.Data.StartsWith(prefix, StringComparison.Ordinal)) seen.TrySetResult();
            }
        };
        process.BeginOutputReadLine();
    }

    /// <summary>Runs <c>selfforcing serve ARGS</c> with the random tiny model: these tests are about serving, not about what a model draws.</summary>
    public static ServeProcess Start(params string[] args)
    {
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { "exec", Path.Combine(AppContext.BaseDirectory, "selfforcing.dll"), "serve", "--model", "tiny-random" }.Concat(args)) psi.ArgumentList.Add(a);
        return new ServeProcess(Process.Start(psi)!);
    }

    /// <summary>What the process has written to stdout so far.</summary>
    public string Stdout { get { lock (_stdout) return _stdout.ToString(); } }

    /// <summary>Waits for a stdout line starting with <paramref name="prefix"/>.</summary>
    public Task WaitForLineAsync(string prefix, TimeSpan timeout)
    {
        var seen = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_stdout)
        {
            if (_stdout.ToString().Split('\n').Any(l => l.StartsWith(prefix, StringComparison.Ordinal))) return Task.CompletedTask;
            _waits.Add((prefix, seen));
        }
        return seen.Task.WaitAsync(timeout);
    }

    public void Terminate() => Assert.Equal(0, kill(Process.Id, 15)); // SIGTERM

    /// <summary>True when the process exited in time; its stdout is then complete.</summary>
    public bool WaitForExit(TimeSpan timeout)
    {
        if (!Process.WaitForExit(timeout)) return false;
        Process.WaitForExit(); // drains the asynchronous stdout reader
        return true;
    }

    public int ExitCode => Process.ExitCode;

    public void Dispose()
    {
        try { if (!Process.HasExited) Process.Kill(entireProcessTree: true); }
        catch (InvalidOperationException) { }
        Process.Dispose();
    }
}
