using SelfForcing.Hosting.Training;
using SelfForcing.Model.Checkpoints;
using SelfForcing.World;
using static TorchSharp.torch;

namespace SelfForcing.Hosting.Tests;

/// <summary><c>selfforcing train word-probe</c>: a teacher's colour, shape and direction words scored against their rivals.</summary>
public sealed class WordProbeCommandTests : IDisposable
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("sf-word-probe-");

    private string P(string name) => Path.Combine(_dir.FullName, name);

    private static (int Rc, string Out, string Err) Train(params string[] args)
    {
        var (stdout, stderr) = (new StringWriter(), new StringWriter());
        int rc = Cli.Run(["train", .. args], stdout, stderr);
        return (rc, stdout.ToString(), stderr.ToString());
    }

    [Fact]
    public void Scores_each_word_kind_over_the_one_object_clips_and_refuses_data_of_another_encoder()
    {
        Assert.Equal(0, Train("world-data", "--out", P("held.safetensors"), "--count", "12", "--seed", "9000000", "--frames", "3").Rc);
        Assert.Equal(0, Train("teacher", "--data", P("held.safetensors"), "--model-config", "world", "--out", P("teacher"), "--steps", "1",
            "--batch-size", "2").Rc);

        var cli = Train("word-probe", "--teacher", P("teacher"), "--data", P("held.safetensors"), "--count", "4");
        Assert.True(cli.Rc == 0, cli.Err);
        foreach (var word in new[] { "colour", "shape", "direction" }) Assert.Contains(word, cli.Out);

        string[] captions;
        using (var file = SafeTensorsFile.Open(P("held.safetensors"))) captions = file.Metadata["captions"].Split('\n');
        int oneObject = Math.Min(4, captions.Count(c => CaptionGrammar.Parse(c).Objects.Count == 1));
        Assert.True(oneObject > 0);
        var options = new WordProbeRunOptions(P("teacher"), P("held.safetensors"), 4, Seed: 1);
        var scores = WordProbeRun.Run(options, TextWriter.Null);
        Assert.Equal(["colour", "shape", "direction"], scores.Select(s => s.Attribute));
        Assert.Equal([1 / 5.0, 1 / 3.0, 1 / 4.0], scores.Select(s => s.Chance));
        foreach (var s in scores)
        {
            Assert.Equal(oneObject, s.Total);
            Assert.InRange(s.Right, 0, s.Total);
            Assert.All(s.RightPerSigma, r => Assert.InRange(r, 0, s.Total));
        }
        // Same noise seed, same picks.
        var again = WordProbeRun.Run(options, TextWriter.Null);
        Assert.Equal(scores.Select(s => (s.Right, string.Join(",", s.RightPerSigma))), again.Select(s => (s.Right, string.Join(",", s.RightPerSigma))));

        // Embeddings another encoder made: the rivals would be encoded differently from the truth, so the probe refuses.
        using (var file = SafeTensorsFile.Open(P("held.safetensors")))
        using (var scope = NewDisposeScope())
        {
            var tensors = file.Entries.Keys.ToDictionary(k => k, k => file.Load(k));
            tensors["prompt_embeds"] = tensors["prompt_embeds"] * 0.05;
            SafeTensorsWriter.Write(P("other.safetensors"), tensors, file.Metadata.ToDictionary());
        }
        var refused = Train("word-probe", "--teacher", P("teacher"), "--data", P("other.safetensors"));
        Assert.NotEqual(0, refused.Rc);
        Assert.Contains("another encoder", refused.Err);
        var missing = Train("word-probe", "--teacher", P("teacher"), "--data", P("none.safetensors"));
        Assert.NotEqual(0, missing.Rc);
        Assert.Contains("none.safetensors", missing.Err);
    }

    public void Dispose() => _dir.Delete(recursive: true);
}
