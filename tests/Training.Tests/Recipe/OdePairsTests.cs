using SelfForcing.Model.Dit;
using SelfForcing.Model.Sampling;
using SelfForcing.Training.Ode;
using TorchSharp;
using static TorchSharp.torch;

namespace SelfForcing.Training.Tests.Recipe;

/// <summary>The ODE-pairs tool: the layout the ODE-regression loss reads, the recorded timesteps, determinism from the seed.</summary>
public sealed class OdePairsTests : IDisposable
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("sf-ode-pairs-");

    private static WanModel RandomTeacher()
    {
        var m = new WanModel(TinyWorldData.Config);
        m.InitializeRandom(7, std: 0.1);
        return m;
    }

    private static bool Same(Tensor a, Tensor b) => a.shape.SequenceEqual(b.shape) && a.eq(b).all().item<bool>();

    private static Tensor Prompts(int n) => randn([n, TinyWorldData.Config.TextLen, TinyWorldData.Config.TextDim], generator: new Generator(8));

    [Fact]
    public void Default_schedule_records_the_students_warped_four_steps()
    {
        TorchThreads.UseOne();
        // 48 steps on the student's shift (5): entries before steps 0, 12, 24, 36 sit at the warp of [1000, 750, 500, 250]
        // on the generator's 1000-point grid (computed independently by the inference scheduler).
        var settings = new OdePairSettings();
        Assert.Equal(new[] { 0, 12, 24, 36 }, settings.RecordBefore);
        var schedule = new EulerSchedule(settings.Steps, settings.Shift);
        var recorded = settings.RecordBefore.Select(i => schedule.Timesteps[i]).ToArray();
        var student = new FlowMatchScheduler(5.0).Warp([1000, 750, 500, 250]);
        for (int i = 0; i < 4; i++) Assert.True(Math.Abs(recorded[i] - student[i]) < 1e-3, $"entry {i}: {recorded[i]} vs student step {student[i]}");
        // The reference's shift-8 table gives its documented 1000, 960, 888.9, 727.3.
        var reference = new EulerSchedule(48, 8.0);
        Assert.Equal(new[] { 1000.0, 960.0, 888.9, 727.3 }, settings.RecordBefore.Select(i => Math.Round(reference.Timesteps[i], 1)).ToArray());
        Assert.Equal(0f, schedule.Sigmas[^1]);
    }

    [Fact]
    public void Pairs_have_the_ode_latent_layout_start_from_the_seeded_noise_and_repeat()
    {
        TorchThreads.UseOne();
        using var scope = NewDisposeScope();
        using var teacher = RandomTeacher();
        var prompts = Prompts(3);
        var negative = zeros([1, TinyWorldData.Config.TextLen, TinyWorldData.Config.TextDim]);
        var settings = new OdePairSettings { Steps = 8, BatchSize = 2, GuidanceScale = 3.0 };
        using var a = OdePairGenerator.Generate(teacher, prompts, negative, TinyWorldData.LatentShape, 42, settings);
        using var b = OdePairGenerator.Generate(teacher, prompts, negative, TinyWorldData.LatentShape, 42, settings);
        using var oneByOne = OdePairGenerator.Generate(teacher, prompts, negative, TinyWorldData.LatentShape, 42, settings with { BatchSize = 1 });
        using var otherSeed = OdePairGenerator.Generate(teacher, prompts, negative, TinyWorldData.LatentShape, 43, settings);

        long[] expectedShape = [3, 5, .. TinyWorldData.LatentShape];
        Assert.Equal(expectedShape, a.OdeLatent.shape);
        var schedule = new EulerSchedule(8, 5.0);
        Assert.Equal(new[] { 0, 2, 4, 6 }.Select(i => schedule.Timesteps[i]).ToArray(), a.TimestepValues);
        Assert.True(a.TimestepValues.Zip(a.TimestepValues.Skip(1)).All(p => p.First > p.Second), "most noisy first");
        for (int i = 0; i < 3; i++)
            Assert.True(Same(a.OdeLatent[i, 0], OdePairGenerator.Noise(42 + i, TinyWorldData.LatentShape)), $"prompt {i}: entry 0 is not its seeded noise");
        Assert.True(Same(a.OdeLatent, b.OdeLatent), "the same seed gave different pairs");
        Assert.True(a.OdeLatent.allclose(oneByOne.OdeLatent, rtol: 1e-4, atol: 1e-5), "a pair depends on the batch it was made in");
        Assert.False(a.OdeLatent.allclose(otherSeed.OdeLatent), "another seed gave the same pairs");
        Assert.True(Same(a.PromptEmbeds, prompts));
        // The entries move: each is a different point of the trajectory, and the clean end is not the noise.
        for (int s = 0; s < 4; s++) Assert.False(a.OdeLatent[.., s].allclose(a.OdeLatent[.., s + 1]), $"entries {s} and {s + 1} are equal");
    }

    [Fact]
    public void The_recorded_entries_are_points_of_the_teachers_Euler_trajectory()
    {
        TorchThreads.UseOne();
        // Integrating on from entry k (steps 2k..) must land on the recorded clean end: a wrong index, step order or σ
        // difference in the recorder breaks this.
        using var scope = NewDisposeScope();
        using var teacher = RandomTeacher();
        var prompts = Prompts(2);
        var settings = new OdePairSettings { Steps = 8 };
        using var pairs = OdePairGenerator.Generate(teacher, prompts, null, TinyWorldData.LatentShape, 9, settings);
        var schedule = new EulerSchedule(8, 5.0);
        for (int k = 0; k < 4; k++)
        {
            var x = pairs.OdeLatent[.., k].clone();
            for (int step = 2 * k; step < 8; step++)
            {
                using var noGrad = no_grad();
                var t = full([2], schedule.Timesteps[step]);
                var v = teacher.Forward(x.permute(0, 2, 1, 3, 4), t, prompts).permute(0, 2, 1, 3, 4);
                x = x + v * (schedule.Sigmas[step + 1] - schedule.Sigmas[step]);
            }
            Assert.True(x.allclose(pairs.OdeLatent[.., 4], rtol: 1e-4, atol: 1e-5), $"entry {k} does not lead to the clean end");
        }
    }

    [Fact]
    public void Saved_pairs_read_back_bitwise_and_foreign_files_are_refused()
    {
        TorchThreads.UseOne();
        using var scope = NewDisposeScope();
        using var teacher = RandomTeacher();
        using var pairs = OdePairGenerator.Generate(teacher, Prompts(2), null, TinyWorldData.LatentShape, 1, new OdePairSettings { Steps = 4 });
        var path = Path.Combine(_dir.FullName, "pairs.safetensors");
        pairs.Save(path, new Dictionary<string, string> { ["seed"] = "1" });
        using var back = OdePairs.Load(path);
        Assert.True(Same(back.OdeLatent, pairs.OdeLatent) && Same(back.PromptEmbeds, pairs.PromptEmbeds) && Same(back.Timesteps, pairs.Timesteps));

        var foreign = Path.Combine(_dir.FullName, "foreign.safetensors");
        Model.Checkpoints.SafeTensorsWriter.Write(foreign, new Dictionary<string, Tensor> { ["ode_latent"] = zeros(1) });
        Assert.Throws<ArgumentException>(() => OdePairs.Load(foreign));
    }

    public void Dispose() => _dir.Delete(recursive: true);
}
