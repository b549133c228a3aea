using System.Diagnostics;

namespace SelfForcing.Hosting.Tests.Serving;

/// <summary>The README's client example (examples/StreamClient), built with the solution, run against a real server.</summary>
public class StreamClientExampleTests
{
    [Fact]
    public async Task The_readme_example_starts_a_stream_and_writes_a_playable_file()
    {
        var dll = RepoPaths.File("examples/StreamClient/bin/Release/net10.0/StreamClient.dll");
        Assert.True(File.Exists(dll), $"{dll} is missing: build the solution in Release first (./test.sh does)");
        await using var f = await ServeFixture.StartAsync();
        var file = Path.Combine(Path.GetTempPath(), $"sf-example-{Guid.NewGuid():N}.mp4");
        try
        {
            var psi = new ProcessStartInfo("dotnet", ["exec", dll, f.Server.Url, "a cat surfing a wave", file])
            {
                RedirectStandardOutput = true, RedirectStandardError = true,
            };
            using var p = Process.Start(psi)!;
            var stdout = p.StandardOutput.ReadToEndAsync();
            var stderr = p.StandardError.ReadToEndAsync();
            if (!p.WaitForExit(120_000)) { p.Kill(true); Assert.Fail("the example did not finish"); }
            Assert.True(p.ExitCode == 0, await stderr);
            var lines = (await stdout).Split('\n', StringSplitOptions.RemoveEmptyEntries);
            Assert.StartsWith("stream s", lines[0]);
            Assert.Contains("\"type\":\"completed\"", lines[^1]);
            // The example asks for 4 chunks; the file it wrote as the stream arrived plays them all.
            Assert.Equal(VideoRecord.ExpectedFrames(4), VideoRecord.DecodedFrames([await File.ReadAllBytesAsync(file)]));
        }
        finally { File.Delete(file); }
    }
}
