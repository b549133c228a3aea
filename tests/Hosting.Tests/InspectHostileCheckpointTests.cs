using System.Diagnostics;
using SelfForcing.Hosting.Commands;
using SelfForcing.Model.Tests.Checkpoints;

namespace SelfForcing.Hosting.Tests;

/// <summary>
/// Issue 9 at the CLI: <c>selfforcing inspect</c> on a hostile checkpoint exits 1 with exactly one line naming the
/// file and the problem, and the process that refused it goes on reading good checkpoints (as a server would).
/// </summary>
public sealed class InspectHostileCheckpointTests : IDisposable
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("sf-inspect-hostile-");

    public void Dispose() => _dir.Delete(true);

    public static IEnumerable<object[]> Cases() => HostileCheckpoints.Names();

    [Theory]
    [MemberData(nameof(Cases))]
    public void Inspect_refuses_in_one_line_and_the_process_keeps_reading(string file)
    {
        var path = Path.Combine(_dir.FullName, file);
        var hostile = HostileCheckpoints.Get(file);
        hostile.Write(path);

        var (rc, stdout, stderr) = Inspect(path);
        Assert.Equal(1, rc);
        Assert.Equal("", stdout);
        var lines = stderr.TrimEnd('\n').Split('\n');
        Assert.Single(lines);
        Assert.StartsWith("error: ", lines[0]);
        Assert.Contains(path, lines[0]);
        if (hostile.Mentions is { } mention) Assert.Contains(mention, lines[0]);

        var good = Path.Combine(_dir.FullName, "good.pt");
        HostileCheckpoints.WriteGood(good);
        var (goodRc, goodOut, goodErr) = Inspect(good);
        Assert.Equal(0, goodRc);
        Assert.Equal("", goodErr);
        Assert.Contains("2 tensors, 9 elements, 36 bytes", goodOut);
    }

    [Theory]
    [InlineData("self_containing_dict.pt", "contains itself")]
    [InlineData("nested_dicts_200000.pt", "nest deeper than")]
    [InlineData("shared_dicts_40_levels.pt", "shared sub-dicts are refused")]
    public async Task The_real_cli_process_exits_1_with_one_line(string file, string problem)
    {
        // Out of process, as the issue ran it: a stack overflow here would be exit 134 and thousands of lines.
        var path = Path.Combine(_dir.FullName, file);
        HostileCheckpoints.Get(file).Write(path);
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { "exec", Path.Combine(AppContext.BaseDirectory, "selfforcing.dll"), "inspect", path }) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var stderr = p.StandardError.ReadToEndAsync();
        var stdout = p.StandardOutput.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        try { await p.WaitForExitAsync(timeout.Token); }
        catch (OperationCanceledException)
        {
            p.Kill();
            Assert.Fail($"selfforcing inspect {file} did not finish within 60 s");
        }
        Assert.Equal(1, p.ExitCode);
        Assert.Equal("", await stdout);
        var lines = (await stderr).TrimEnd('\n').Split('\n');
        Assert.Single(lines);
        Assert.StartsWith("error: ", lines[0]);
        Assert.Contains(path, lines[0]);
        Assert.Contains(problem, lines[0]);
    }

    /// <summary>Runs the inspect command in this process; fails if it has not finished in 60 s (a hang, not a slow machine).</summary>
    private static (int Rc, string Stdout, string Stderr) Inspect(string path)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        var run = Task.Run(() => InspectCommand.Run(path, stdout, stderr));
        bool finished = Task.WhenAny(run, Task.Delay(TimeSpan.FromSeconds(60))).GetAwaiter().GetResult() == run;
        Assert.True(finished, $"inspect {Path.GetFileName(path)} did not finish within 60 s");
        return (run.Result, stdout.ToString(), stderr.ToString());
    }
}
