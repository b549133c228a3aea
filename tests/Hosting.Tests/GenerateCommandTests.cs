using System.Diagnostics;
using SelfForcing.Hosting.Commands;
using SelfForcing.Hosting.Output;

namespace SelfForcing.Hosting.Tests;

/// <summary>The README's run command end to end: tiny model, the actor pipeline, real ffmpeg.</summary>
public class GenerateCommandTests
{
    private static GenerateCommand.GenerateOptions Options(string dir, params string[] prompts) =>
        new(prompts, 42, dir, 3, 16, new WeightOptions(null, null, false, "bfloat16", null, null) { Model = WeightOptions.TinyRandom }, null, null, 8, 8);

    [Fact]
    public async Task Generate_writes_one_mp4_per_prompt()
    {
        var dir = Directory.CreateTempSubdirectory("sf-gen-");
        try
        {
            var stdout = new StringWriter();
            var stderr = new StringWriter();
            int rc = await GenerateCommand.RunAsync(Options(dir.FullName, "a cat", "a dog"), stdout, stderr);
            Assert.True(rc == 0, stderr.ToString());
            Assert.Contains("NOISE", stderr.ToString());
            Assert.Contains("chunk 3/3", stdout.ToString());
            var files = Directory.GetFiles(dir.FullName, "*.mp4").OrderBy(f => f).ToArray();
            Assert.Equal(2, files.Length);
            foreach (var f in files) Assert.Equal("64,64,33", Probe(f)); // 1 + 4·(9 − 1) frames of 64×64
        }
        finally { dir.Delete(true); }
    }

    [Fact]
    public async Task Bad_options_fail_with_one_line()
    {
        var stderr = new StringWriter();
        int rc = await GenerateCommand.RunAsync(Options(Path.GetTempPath()) with { Chunks = 0, Prompts = ["x"] }, new StringWriter(), stderr);
        Assert.Equal(1, rc);
        Assert.Contains("chunks must be between", stderr.ToString());
        stderr = new StringWriter();
        rc = await GenerateCommand.RunAsync(Options(Path.GetTempPath(), "x") with { Weights = new WeightOptions("/nonexistent", null, false, "bf16", null, null) },
            new StringWriter(), stderr);
        Assert.Equal(1, rc);
        Assert.Contains("--wan-dir", stderr.ToString());
    }

    [Theory]
    [InlineData("a/b:c", 0, false, "a_b_c-0.mp4")]
    [InlineData("", 2, true, "prompt-2-tiny-noise.mp4")]
    public void File_names_are_safe(string prompt, int index, bool tiny, string expected) =>
        Assert.Equal(expected, GenerateCommand.FileName(prompt, index, tiny));

    private static string Probe(string file)
    {
        var psi = new ProcessStartInfo("ffprobe", ["-v", "error", "-count_frames", "-select_streams", "v:0", "-show_entries", "stream=width,height,nb_read_frames", "-of", "csv=p=0", file])
        {
            RedirectStandardOutput = true,
        };
        using var p = Process.Start(psi)!;
        var output = p.StandardOutput.ReadToEnd().Trim();
        p.WaitForExit();
        return output;
    }
}
