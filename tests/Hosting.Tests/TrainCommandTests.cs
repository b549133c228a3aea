using System.Text.Json;
using SelfForcing.Model.Checkpoints;
using SelfForcing.Hosting.Training;

namespace SelfForcing.Hosting.Tests;

/// <summary><c>selfforcing train</c>: progress lines, metrics, reference-layout checkpoints, and a resume that continues exactly.</summary>
public sealed class TrainCommandTests : IDisposable
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("sf-train-cli-");

    private (int Rc, string Out, string Err) Train(params string[] args)
    {
        var (stdout, stderr) = (new StringWriter(), new StringWriter());
        int rc = Cli.Run(["train", .. args], stdout, stderr);
        return (rc, stdout.ToString(), stderr.ToString());
    }

    private static List<JsonElement> Metrics(string outDir) =>
        File.ReadAllLines(Path.Combine(outDir, TinyDmdRun.MetricsFile)).Select(l => JsonDocument.Parse(l).RootElement.Clone()).ToList();

    [Fact]
    public void Runs_saves_and_resumes_to_the_same_losses_as_an_unbroken_run()
    {
        var straight = Path.Combine(_dir.FullName, "straight");
        var split = Path.Combine(_dir.FullName, "split");
        var a = Train("--steps", "6", "--out", straight, "--save-every", "3", "--seed", "5");
        Assert.True(a.Rc == 0, a.Err);
        var b = Train("--steps", "3", "--out", split, "--seed", "5");
        Assert.True(b.Rc == 0, b.Err);
        var resumeFrom = TinyDmdRun.CheckpointFolder(split, 3);
        var c = Train("--steps", "3", "--out", split, "--seed", "5", "--resume", resumeFrom);
        Assert.True(c.Rc == 0, c.Err);

        // One progress line per step with the losses, grad norms and step time; generator terms on generator steps.
        var progress = a.Out.Split('\n').Where(l => l.StartsWith("step ", StringComparison.Ordinal)).ToList();
        Assert.Equal(6, progress.Count);
        Assert.All(progress, l => Assert.Matches(@"critic_loss=\S+ critic_grad_norm=\S+ .*step_ms=[0-9.]+$", l.TrimEnd()));
        Assert.Contains("generator_loss=", progress[0]);
        Assert.DoesNotContain("generator_loss=", progress[1]);
        Assert.Contains($"resumed from {resumeFrom} at step 3", c.Out);

        var full = Metrics(straight);
        var resumed = Metrics(split);
        Assert.Equal(Enumerable.Range(1, 6), full.Select(m => m.GetProperty("step").GetInt32()));
        Assert.Equal(Enumerable.Range(1, 6), resumed.Select(m => m.GetProperty("step").GetInt32()));
        foreach (var key in new[] { "critic_loss", "critic_grad_norm", "generator_loss", "generator_grad_norm", "trained_generator" })
            Assert.Equal(full.Select(m => m.GetProperty(key).ToString()), resumed.Select(m => m.GetProperty(key).ToString()));

        // Saved every 3 steps and at the end, in the reference layout; the EMA (start step 200) does not exist yet.
        foreach (var step in new[] { 3, 6 })
        {
            using var pt = StateDict.Open(Path.Combine(TinyDmdRun.CheckpointFolder(straight, step), "model.pt"));
            Assert.Equal(["critic", "generator"], pt.Groups().Order());
            Assert.Contains("generator.model.head.head.weight", pt.Keys);
        }
        // The final weights of both runs are the same bytes.
        Assert.Equal(File.ReadAllBytes(Path.Combine(TinyDmdRun.CheckpointFolder(straight, 6), "generator.safetensors")),
            File.ReadAllBytes(Path.Combine(TinyDmdRun.CheckpointFolder(split, 6), "generator.safetensors")));
    }

    [Fact]
    public void Resume_with_another_seed_is_refused()
    {
        var outDir = Path.Combine(_dir.FullName, "run");
        Assert.Equal(0, Train("--steps", "1", "--out", outDir, "--seed", "1").Rc);
        var r = Train("--steps", "1", "--out", outDir, "--seed", "2", "--resume", TinyDmdRun.CheckpointFolder(outDir, 1));
        Assert.Equal(1, r.Rc);
        Assert.Contains("same seed", r.Err);
    }

    [Theory]
    [InlineData("4", "21", "--score-window 4 must be whole chunks of 3 frames")]
    [InlineData("24", "21", "at most the rollout's --frames 21")]
    [InlineData("0", "21", "--score-window 0")]
    public void A_score_window_that_is_not_whole_chunks_of_the_rollout_is_refused(string window, string frames, string error)
    {
        var r = Train("--steps", "1", "--out", Path.Combine(_dir.FullName, "w"), "--score-window", window, "--frames", frames);
        Assert.Equal(1, r.Rc);
        Assert.Contains(error, r.Err);
        Assert.False(Directory.Exists(Path.Combine(_dir.FullName, "w")), "nothing is written before the options are checked");
    }

    public void Dispose() => _dir.Delete(true);
}
