using System.Security.Cryptography;
using SelfForcing.Hosting.Training;
using SelfForcing.Model.Checkpoints;
using SelfForcing.Model.Dit;
using SelfForcing.Training.Ode;
using static TorchSharp.torch;

namespace SelfForcing.Hosting.Tests;

/// <summary><c>selfforcing train teacher | ode-pairs | ode-init</c>: the recipe's first stages chained through their files.</summary>
public sealed class TrainRecipeCommandTests : IDisposable
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("sf-train-recipe-");

    private string P(string name) => Path.Combine(_dir.FullName, name);

    private static (int Rc, string Out, string Err) Train(params string[] args)
    {
        var (stdout, stderr) = (new StringWriter(), new StringWriter());
        int rc = Cli.Run(["train", .. args], stdout, stderr);
        return (rc, stdout.ToString(), stderr.ToString());
    }

    private void WriteData()
    {
        using var scope = NewDisposeScope();
        var gen = new Generator(3);
        var c = WanConfig.Tiny;
        SafeTensorsWriter.Write(P("data.safetensors"), new Dictionary<string, Tensor>
        {
            ["latents"] = randn([4, 3, c.InDim, 4, 4], generator: gen), ["prompt_embeds"] = randn([4, c.TextLen, c.TextDim], generator: gen),
            ["negative_prompt_embeds"] = zeros([1, c.TextLen, c.TextDim]),
        });
        SafeTensorsWriter.Write(P("prompts.safetensors"), new Dictionary<string, Tensor>
        {
            ["prompt_embeds"] = randn([3, c.TextLen, c.TextDim], generator: gen), ["negative_prompt_embeds"] = zeros([1, c.TextLen, c.TextDim]),
        });
    }

    [Fact]
    public void Teacher_then_ode_pairs_then_ode_init_write_files_the_next_stage_reads()
    {
        WriteData();
        var teacher = Train("teacher", "--data", P("data.safetensors"), "--out", P("teacher"), "--steps", "3", "--batch-size", "2",
            "--condition-dropout", "0.2", "--gradient-checkpointing");
        Assert.True(teacher.Rc == 0, teacher.Err);
        Assert.Equal(3, teacher.Out.Split('\n').Count(l => l.StartsWith("teacher step ", StringComparison.Ordinal)));
        Assert.Equal(3, File.ReadAllLines(P("teacher/" + TeacherRun.MetricsFile)).Length);
        using (var loaded = RecipeFiles.LoadTeacher(P("teacher"))) Assert.Equal(WanConfig.Tiny.Dim, loaded.Config.Dim);

        string[] pairArgs = ["ode-pairs", "--teacher", P("teacher"), "--prompts", P("prompts.safetensors"), "--frames", "3", "--ode-steps", "8", "--seed", "4"];
        var pairs = Train([.. pairArgs, "--out", P("pairs.safetensors")]);
        Assert.True(pairs.Rc == 0, pairs.Err);
        var again = Train([.. pairArgs, "--out", P("pairs2.safetensors"), "--batch-size", "3"]);
        Assert.True(again.Rc == 0, again.Err);
        Assert.Equal(SHA256.HashData(File.ReadAllBytes(P("pairs.safetensors"))), SHA256.HashData(File.ReadAllBytes(P("pairs2.safetensors"))));
        using (var file = OdePairs.Load(P("pairs.safetensors")))
        {
            Assert.Equal(new long[] { 3, 5, 3, 16, 4, 4 }, file.OdeLatent.shape);
            Assert.Equal(4, file.TimestepValues.Length);
        }

        var init = Train("ode-init", "--pairs", P("pairs.safetensors"), "--init-from", P("teacher"), "--out", P("student"), "--steps", "2",
            "--batch-size", "2", "--save-every", "1", "--mixed-precision");
        Assert.True(init.Rc == 0, init.Err);
        foreach (var step in new[] { 1, 2 })
        {
            var folder = TinyDmdRun.CheckpointFolder(P("student"), step);
            using var pt = StateDict.Open(Path.Combine(folder, "model.pt"));
            Assert.Equal(["generator"], pt.Groups());
            Assert.True(File.Exists(Path.Combine(folder, "generator.safetensors")) && File.Exists(Path.Combine(folder, RecipeFiles.ConfigFile)));
        }
    }

    [Fact]
    public void Missing_tensors_are_reported()
    {
        using (var scope = NewDisposeScope())
            SafeTensorsWriter.Write(P("bad.safetensors"), new Dictionary<string, Tensor> { ["latents"] = zeros([1, 3, 16, 4, 4]) });
        var r = Train("teacher", "--data", P("bad.safetensors"), "--out", P("t"), "--steps", "1");
        Assert.Equal(1, r.Rc);
        Assert.Contains("prompt_embeds", r.Err);
    }

    public void Dispose() => _dir.Delete(recursive: true);
}
