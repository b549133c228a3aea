using System.Diagnostics;
using System.Text.Json;
using System.Text.RegularExpressions;
using Xunit;

namespace SelfForcing.Hosting.Tests;

/// <summary>
/// <c>scripts/world-default.sh</c>, the shipped default model's whole line in one call, run for real at a thousandth of
/// its step and clip counts: every stage must run in order with the shipped settings, stop where asked and, run again,
/// keep what is done and go on.
/// </summary>
public class WorldDefaultRecipeTests
{
    private static (int Code, string Output) RunRecipe(string outDir, params (string Name, string Value)[] env)
    {
        var psi = new ProcessStartInfo("bash") { RedirectStandardOutput = true, RedirectStandardError = true };
        psi.ArgumentList.Add(RepoPaths.File("scripts/world-default.sh"));
        psi.ArgumentList.Add(outDir);
        psi.Environment["SELFFORCING"] = $"dotnet exec {Path.Combine(AppContext.BaseDirectory, "selfforcing.dll")}";
        foreach (var (name, value) in env) psi.Environment[name] = value;
        using var p = Process.Start(psi)!;
        var stderr = p.StandardError.ReadToEndAsync();
        var stdout = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        return (p.ExitCode, stdout + stderr.Result);
    }

    /// <summary>Two entries of a safetensors file's <c>__metadata__</c>.</summary>
    private static (string, string) Settings(string outDir, string file, string first, string second)
    {
        using var stream = File.OpenRead(Path.Combine(outDir, file));
        var length = new byte[8];
        stream.ReadExactly(length);
        var header = new byte[BitConverter.ToInt64(length)];
        stream.ReadExactly(header);
        var metadata = JsonDocument.Parse(header).RootElement.GetProperty("__metadata__");
        return (metadata.GetProperty(first).GetString()!, metadata.GetProperty(second).GetString()!);
    }

    [Fact]
    [Trait("Category", "Slow")]
    public void The_recipe_runs_every_stage_in_one_call_stops_where_asked_and_goes_on_from_what_it_kept()
    {
        var dir = Directory.CreateTempSubdirectory("world-default-");
        try
        {
            var outDir = Path.Combine(dir.FullName, "out");
            var (code, first) = RunRecipe(outDir, ("DIVIDE", "1000"), ("STOP_AFTER", "teacher-1"));
            Assert.True(code == 0, first);
            Assert.Contains("stopped after teacher-1", first);
            foreach (var file in new[] { "world-text.safetensors", "world-vae.safetensors", "world-vae-decoder.safetensors",
                         "world-vae-decoder-code.safetensors", "world_data.safetensors", "teacher-1/teacher.safetensors" })
                Assert.True(File.Exists(Path.Combine(outDir, file)), $"{file} missing after the first call:\n{first}");
            Assert.False(Directory.Exists(Path.Combine(outDir, "teacher-2")), "STOP_AFTER=teacher-1 ran teacher-2");
            // The VAE stages ran with the shipped line's settings and seeds (each file records them).
            Assert.Equal(("20", "0"), Settings(outDir, "world-vae.safetensors", "shape_code", "seed"));
            Assert.Equal(("0.7", "1"), Settings(outDir, "world-vae-decoder.safetensors", "decoder_noise", "seed"));
            Assert.Equal(("1.2", "0.3"), Settings(outDir, "world-vae-decoder-code.safetensors", "decoder_noise", "decoder_code_noise"));

            Assert.Empty(Directory.GetFiles(outDir, ".running-*"));  // every stage that ran finished

            // A stage stopped half-way leaves its marker: its output is made again, not kept.
            File.WriteAllText(Path.Combine(outDir, ".running-data"), "");
            var (code2, second) = RunRecipe(outDir, ("DIVIDE", "1000"));
            Assert.True(code2 == 0, second);
            foreach (var kept in new[] { "text", "vae", "decoder", "decoder-code", "teacher-1" })
                Assert.Contains($"== {kept}: kept", second);
            Assert.Contains("== data\n", second);
            // Each teacher run's steps are the shipped run's divided by 1,000 (rounded up), each from the one before.
            foreach (var steps in new[] { 11, 10, 14 })
                Assert.Matches(new Regex($@"teacher step {steps}/{steps} "), second);
            Assert.DoesNotContain("teacher step 5/5 ", second);
            foreach (var (teacher, from, lr) in new[] { ("teacher-1", "", 1e-3), ("teacher-2", "teacher-1", 5e-4), ("teacher-3", "teacher-2", 3e-4), ("teacher", "teacher-3", 3e-4) })
            {
                var firstStep = JsonDocument.Parse(File.ReadLines(Path.Combine(outDir, teacher, "teacher_metrics.jsonl")).First()).RootElement;
                Assert.Equal(lr, firstStep.GetProperty("lr").GetDouble(), 1e-9);  // the cosine starts at the run's peak
                if (from != "") Assert.Contains($"teacher starts from {Path.Combine(outDir, from)}", second);
            }
            // The first teacher run weighs every position alike; the three after it weigh objects up to 5x.
            Assert.DoesNotContain("foreground weight", first);
            Assert.Equal(3, Regex.Matches(second, "foreground weight 4:").Count);
            // DMD runs with SEED + 1, as the shipped student did (seed 1 of the two tried).
            Assert.Contains("\"seed\":1", File.ReadAllText(Path.Combine(outDir, "dmd", "checkpoint_model_000001", "run.json")));
            Assert.True(File.Exists(Path.Combine(outDir, "world-tiny-dmd.safetensors")), second);
            foreach (var window in new[] { "early", "late" })
                Assert.Matches(new Regex(@"colour\s+\d+\.\d%"), File.ReadAllText(Path.Combine(outDir, $"eval-{window}.txt")));
            var times = File.ReadAllLines(Path.Combine(outDir, "times.txt"));
            Assert.Single(times, l => l.StartsWith("vae "));  // kept, not run twice
            Assert.Equal(2, times.Count(l => l.StartsWith("data ")));
            foreach (var stage in new[] { "teacher-1", "teacher-2", "teacher-3", "teacher", "pairs", "ode-init", "dmd" })
                Assert.Single(times, l => l.StartsWith(stage + " "));

            var (code3, third) = RunRecipe(outDir, ("DIVIDE", "1000"));
            Assert.True(code3 == 0, third);
            Assert.DoesNotContain("step 1/", third);  // everything kept: nothing trains again
        }
        finally
        {
            dir.Delete(true);
        }
    }

    [Theory]
    [InlineData("DIVIDE", "0", "DIVIDE must be a positive whole number")]
    [InlineData("DIVIDE", "half", "DIVIDE must be a positive whole number")]
    [InlineData("SEED", "-1", "SEED must be a whole number")]
    [InlineData("STOP_AFTER", "teacher-5", "STOP_AFTER must be one of")]
    public void Bad_settings_are_refused_before_anything_runs(string name, string value, string message)
    {
        var dir = Directory.CreateTempSubdirectory("world-default-bad-");
        try
        {
            var outDir = Path.Combine(dir.FullName, "out");
            var (code, output) = RunRecipe(outDir, (name, value));
            Assert.Equal(2, code);
            Assert.Contains(message, output);
            Assert.False(Directory.Exists(outDir), "a refused call made its output folder");
        }
        finally
        {
            dir.Delete(true);
        }
    }
}
