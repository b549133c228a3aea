using SelfForcing.Model.Checkpoints;
using SelfForcing.Model.Dit;
using SelfForcing.Training.Checkpoints;
using SelfForcing.Training.Ode;
using SelfForcing.Training.Randomness;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace SelfForcing.Training.Tests.Recipe;

/// <summary>ODE-regression initialisation of the causal student on pairs from the trained toy teacher.</summary>
public sealed class OdeInitTrainerTests(ITestOutputHelper output) : IDisposable
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("sf-ode-init-");

    internal static OdeInitSettings Settings => new() { Optimizer = new Optim.AdamWSettings(3e-3, 0.9, 0.999, 0.01) };

    private static CausalWanModel NewStudent()
    {
        var m = new CausalWanModel(TinyWorldData.Config);
        m.InitializeRandom(300, std: 0.05);
        return m;
    }

    [Fact]
    public void Loss_falls_and_the_students_four_step_samples_approach_the_teachers_ODE_outputs()
    {
        TorchThreads.UseOne();
        using var scope = NewDisposeScope();
        var (teacher, _) = TinyWorldData.TrainedTeacher;
        var (_, dataPrompts) = TinyWorldData.Data();
        var prompts = dataPrompts.index_select(0, arange(8, ScalarType.Int64).remainder(2));
        using var pairs = OdePairGenerator.Generate(teacher, prompts, null, TinyWorldData.LatentShape, 400, new OdePairSettings { Steps = 16 });
        var noise = pairs.OdeLatent[.., 0];
        var teacherOut = pairs.OdeLatent[.., 4];

        using var student = NewStudent();
        double before = (TinyWorldData.StudentSamples(student, noise, prompts, 401) - teacherOut).square().mean().item<float>();
        using var random = new SeededTrainingRandom(402);
        using var trainer = new OdeInitTrainer(student, pairs.TimestepValues, Settings, random);
        var losses = new List<double>();
        var gen = new TorchSharp.torch.Generator(403);
        for (int i = 0; i < 150; i++)
        {
            using var step = NewDisposeScope();
            var index = randperm(8, generator: gen).narrow(0, 0, 4).data<long>().ToArray();
            var (odeLatent, batchPrompts) = pairs.Batch(index);
            losses.Add(trainer.TrainStep(odeLatent, batchPrompts).Loss);
        }
        double after = (TinyWorldData.StudentSamples(student, noise, prompts, 401) - teacherOut).square().mean().item<float>();
        double first = losses.Take(15).Average(), last = losses.TakeLast(15).Average();
        output.WriteLine($"ODE regression loss {first:G4} → {last:G4}; student 4-step vs teacher ODE MSE {before:G4} → {after:G4}");
        Assert.True(last < 0.5 * first, $"ODE regression loss {first:G4} (first 15 steps) → {last:G4} (last 15)");
        Assert.True(after < 0.5 * before, $"student 4-step samples vs teacher ODE outputs: MSE {before:G4} before, {after:G4} after");
    }

    [Fact]
    public void Checkpoint_has_the_generator_group_and_loads_back_bitwise()
    {
        TorchThreads.UseOne();
        using var scope = NewDisposeScope();
        using var student = NewStudent();
        GeneratorCheckpoint.Save(_dir.FullName, student);
        using (var pt = StateDict.Open(Path.Combine(_dir.FullName, DmdCheckpoint.TorchFile)))
        {
            Assert.Equal(new[] { "generator" }, pt.Groups());
            var expected = student.named_parameters().Select(p => "generator.model." + p.name).Order(StringComparer.Ordinal);
            Assert.Equal(expected, pt.Keys.Order(StringComparer.Ordinal));
        }
        using var loaded = new CausalWanModel(TinyWorldData.Config);
        GeneratorCheckpoint.Load(_dir.FullName, loaded);
        var want = student.named_parameters().ToDictionary(p => p.name, p => p.parameter);
        foreach (var (name, p) in loaded.named_parameters()) Assert.True(p.eq(want[name]).all().item<bool>(), $"{name} differs after the round trip");
    }

    public void Dispose() => _dir.Delete(recursive: true);
}
