using System.Globalization;
using SelfForcing.Actors.Engines;
using SelfForcing.Hosting.Training;
using static TorchSharp.torch;

namespace SelfForcing.Hosting.Tests;

/// <summary><c>selfforcing train text-binding</c>: what a world text encoder's captions carry of which object a word belongs to.</summary>
public sealed class TextBindingProbeTests : IDisposable
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("sf-text-binding-");

    public void Dispose() => _dir.Delete(recursive: true);

    [Fact]
    public void The_bag_distance_is_blind_to_order_and_averages_each_vectors_nearest_partner()
    {
        using var scope = NewDisposeScope();
        var a = tensor(new float[] { 0, 0, 3, 4, 1, 1 }, [3, 2]);
        var shuffled = a.index_select(0, tensor(new long[] { 2, 0, 1 }));
        Assert.Equal(0, TextBindingProbe.BagDistance(a, shuffled), 6);
        // a's nearest partners in {(0,0)}: 0, 5, √2; (0,0)'s in a: 0 — half of each bag's mean.
        var origin = zeros([1, 2]);
        Assert.Equal(0.5 * (5 + Math.Sqrt(2)) / 3, TextBindingProbe.BagDistance(a, origin), 5);
        Assert.Throws<ArgumentException>(() => TextBindingProbe.BagDistance(a, zeros([1, 3])));
    }

    [Fact]
    public void The_seed_encoder_moves_a_caption_far_less_when_two_objects_swap_a_word_than_when_a_word_changes()
    {
        // The finding the README reports for the shipped encoder (seed 0, 20 x 32): a swap is not nothing (the encoder
        // mixes each token with its neighbours) but far less than a new word.
        using var text = new WorldTextEncodeEngine(WorldTextEncodeEngine.ConfigFor(20, 32), CPU, seed: 0);
        var s = TextBindingProbe.Measure(text, count: 40, seed: 3);
        Assert.Equal(40, s.Captions);
        Assert.All(new[] { s.DirectionsSwapped, s.ShapesSwapped }, d => Assert.InRange(d, 1e-3, 0.25 * s.DirectionReplaced));
        Assert.InRange(s.ColourReplaced, 0.1 * s.TokenNorm, 2 * s.TokenNorm);
        Assert.Equal(s, TextBindingProbe.Measure(text, count: 40, seed: 3));
        Assert.NotEqual(s, TextBindingProbe.Measure(text, count: 40, seed: 4));
    }

    [Fact]
    public void The_command_reports_the_shipped_encoder_and_refuses_a_file_that_is_not_a_world_model()
    {
        var (stdout, stderr) = (new StringWriter(), new StringWriter());
        Assert.True(Cli.Run(["train", "text-binding", "--count", "20"], stdout, stderr) == 0, stderr.ToString());
        var lines = stdout.ToString().Split('\n');
        Assert.Contains(lines, l => l.Contains("20 two-object captions"));
        foreach (var what in new[] { "directions swapped", "shapes swapped", "one colour word replaced", "one direction word replaced" })
        {
            var line = Assert.Single(lines, l => l.Contains(what));
            Assert.True(double.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[^1], CultureInfo.InvariantCulture) > 0, line);
        }

        var notWorld = Path.Combine(_dir.FullName, "other.safetensors");
        Model.Checkpoints.SafeTensorsWriter.Write(notWorld, new Dictionary<string, Tensor> { ["x"] = zeros(2) });
        (stdout, stderr) = (new StringWriter(), new StringWriter());
        Assert.Equal(1, Cli.Run(["train", "text-binding", "--world", notWorld], stdout, stderr));
        Assert.Contains("is neither a world text encoder", stderr.ToString());
        (stdout, stderr) = (new StringWriter(), new StringWriter());
        Assert.Equal(1, Cli.Run(["train", "text-binding", "--count", "0"], stdout, stderr));
        Assert.Contains("--count must be at least 1", stderr.ToString());
    }
}
