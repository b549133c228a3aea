using System.Xml.Linq;
using SelfForcing.Hosting.Training;

namespace SelfForcing.Hosting.Tests;

/// <summary><c>selfforcing train</c> with a reference-style config, a prompt file (cached embeddings), the loss plot and two replicas.</summary>
public sealed class TrainConfigAndDataTests : IDisposable
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("sf-train-cfg-");

    private (int Rc, string Out, string Err) Train(params string[] args)
    {
        var (stdout, stderr) = (new StringWriter(), new StringWriter());
        int rc = Cli.Run(["train", .. args], stdout, stderr);
        return (rc, stdout.ToString(), stderr.ToString());
    }

    private string File(string name, string text)
    {
        var path = Path.Combine(_dir.FullName, name);
        System.IO.File.WriteAllText(path, text);
        return path;
    }

    [Fact]
    public void Config_keys_drive_the_run_and_unknown_keys_are_warned_about()
    {
        var cfg = File("my.yaml", "lr: 1.0e-3\nlog_iters: 2\ndfake_gen_update_ratio: 2\nlearning_rate_typo: 5\n");
        var outDir = Path.Combine(_dir.FullName, "run");
        var r = Train("--config", cfg, "--steps", "4", "--out", outDir, "--embedding-cache", Path.Combine(_dir.FullName, "cache"));
        Assert.True(r.Rc == 0, r.Err);
        Assert.Contains("warning: ", r.Err);
        Assert.Contains("unknown config key 'learning_rate_typo'", r.Err);
        // log_iters 2 → saves at 2 and 4; ratio 2 → generator terms on steps 1 and 3 (counter 0 and 2).
        Assert.True(Directory.Exists(TinyDmdRun.CheckpointFolder(outDir, 2)));
        var lines = r.Out.Split('\n').Where(l => l.StartsWith("step ", StringComparison.Ordinal)).ToList();
        Assert.Equal([true, false, true, false], lines.Select(l => l.Contains("generator_loss=")));
        Assert.All(lines, l => Assert.Matches(@" eta=\d+h\d\dm\d\ds step_ms=", l));
    }

    [Fact]
    public void A_bad_value_fails_naming_the_key()
    {
        var r = Train("--config", File("bad.yaml", "lr: fast\n"), "--steps", "1", "--out", Path.Combine(_dir.FullName, "x"));
        Assert.Equal(1, r.Rc);
        Assert.Contains("error: ", r.Err);
        Assert.Contains("config key 'lr' must be a number, got 'fast'", r.Err);
        Assert.False(Directory.Exists(Path.Combine(_dir.FullName, "x")));
    }

    [Fact]
    public void Prompt_embeddings_are_cached_across_runs_and_an_empty_file_is_an_error()
    {
        var prompts = File("prompts.txt", "a red fox\n\na blue car\na green tree\n");
        var cache = Path.Combine(_dir.FullName, "cache");
        var first = Train("--prompts", prompts, "--embedding-cache", cache, "--steps", "1", "--out", Path.Combine(_dir.FullName, "a"));
        Assert.True(first.Rc == 0, first.Err);
        Assert.Contains("3 prompts + the negative prompt; 0 from the cache, 4 computed", first.Out);
        Assert.Equal(4, Directory.GetFiles(cache, "*.safetensors").Length);
        var second = Train("--prompts", prompts, "--embedding-cache", cache, "--steps", "1", "--out", Path.Combine(_dir.FullName, "b"));
        Assert.True(second.Rc == 0, second.Err);
        Assert.Contains("4 from the cache, 0 computed", second.Out);

        var empty = Train("--prompts", File("empty.txt", "\n  \n"), "--embedding-cache", cache, "--steps", "1", "--out", Path.Combine(_dir.FullName, "c"));
        Assert.Equal(1, empty.Rc);
        Assert.Contains("has no prompts", empty.Err);
        var missing = Train("--prompts", Path.Combine(_dir.FullName, "none.txt"), "--steps", "1", "--out", Path.Combine(_dir.FullName, "d"));
        Assert.Equal(1, missing.Rc);
        Assert.Contains("prompt file not found", missing.Err);
    }

    [Fact]
    public void The_loss_plot_has_one_line_per_loss_with_a_point_per_logged_step()
    {
        var outDir = Path.Combine(_dir.FullName, "plot");
        var r = Train("--steps", "7", "--out", outDir, "--save-every", "10");
        Assert.True(r.Rc == 0, r.Err);
        var svg = XDocument.Load(Path.Combine(outDir, TinyDmdRun.PlotFile)); // throws unless well-formed XML
        XNamespace ns = "http://www.w3.org/2000/svg";
        Assert.Equal(ns + "svg", svg.Root!.Name);
        var lines = svg.Descendants(ns + "polyline").Select(p => p.Attribute("points")!.Value.Split(' ', StringSplitOptions.RemoveEmptyEntries)).ToList();
        Assert.Equal(2, lines.Count);
        Assert.Equal(7, lines[0].Length); // critic loss: every step
        Assert.Equal(2, lines[1].Length); // generator loss: steps 0 and 5 (ratio 5)
        Assert.All(lines.SelectMany(l => l), p => Assert.Matches(@"^\d+(\.\d)?,\d+(\.\d)?$", p));
    }

    [Fact]
    public void Two_replicas_train()
    {
        var outDir = Path.Combine(_dir.FullName, "dp");
        var r = Train("--devices", "cpu,cpu", "--steps", "1", "--out", outDir);
        Assert.True(r.Rc == 0, r.Err);
        Assert.Contains("step 1/1", r.Out);
    }

    public void Dispose() => _dir.Delete(true);
}
