using SelfForcing.Model.Dit;
using SelfForcing.Training.Ode;
using SelfForcing.Training.Randomness;
using SelfForcing.Training.Teacher;
using SelfForcing.Training.Tests.Recipe;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace SelfForcing.Training.Tests.Precision;

/// <summary>bf16 compute with float32 master weights: a step runs, the loss is fp32's within bf16 rounding, the master stays fp32.</summary>
public class MixedPrecisionTests(ITestOutputHelper output)
{
    private static Tensor Flat(nn.Module m) => cat(m.parameters().Select(p => p.detach().flatten()).ToArray()).clone();

    private static (double[] Losses, Tensor Weights, ScalarType DType) Teacher(bool mixed)
    {
        using var teacher = TinyWorldData.NewTeacher();
        using var random = new SeededTrainingRandom(21);
        using var trainer = new TeacherTrainer(teacher, TinyWorldData.Settings with { MixedPrecision = mixed }, random);
        var (latents, prompts) = TinyWorldData.Data();
        var losses = Enumerable.Range(0, 3).Select(_ => trainer.TrainStep(latents, prompts).Loss).ToArray();
        latents.Dispose(); prompts.Dispose();
        return (losses, Flat(teacher), teacher.parameters().First().dtype);
    }

    [Fact]
    public void Teacher_bf16_step_runs_with_fp32_master_weights_and_a_loss_close_to_fp32()
    {
        TorchThreads.UseOne();
        using var initial = TinyWorldData.NewTeacher();
        var start = Flat(initial);
        var fp32 = Teacher(mixed: false);
        var bf16 = Teacher(mixed: true);
        output.WriteLine($"losses fp32 [{string.Join(", ", fp32.Losses.Select(l => l.ToString("G5")))}], bf16 [{string.Join(", ", bf16.Losses.Select(l => l.ToString("G5")))}]");
        Assert.Equal(ScalarType.Float32, bf16.DType);
        // Same draws, same weights at step 1: only bf16 rounding of weights and activations separates the two losses.
        Assert.NotEqual(fp32.Losses[0], bf16.Losses[0]); // bf16 really computed (equal bits would mean an fp32 forward)
        Assert.True(Math.Abs(bf16.Losses[0] - fp32.Losses[0]) <= 0.02 * fp32.Losses[0], $"first loss bf16 {bf16.Losses[0]:G6} vs fp32 {fp32.Losses[0]:G6}");
        Assert.False(bf16.Weights.eq(start).all().item<bool>(), "the master weights did not move");
        // The optimiser ran on fp32 masters fed by the bf16 gradients: the updates point the same way as fp32's.
        var dFp32 = fp32.Weights - start;
        var dBf16 = bf16.Weights - start;
        double cosine = (dFp32 * dBf16).sum().item<float>() / (dFp32.norm().item<float>() * dBf16.norm().item<float>());
        output.WriteLine($"cosine(update bf16, update fp32) after 3 steps = {cosine:F4}");
        Assert.True(cosine > 0.9, $"bf16 and fp32 updates disagree (cosine {cosine:F3})");
    }

    [Fact]
    public void Ode_init_bf16_step_runs_with_a_loss_close_to_fp32()
    {
        TorchThreads.UseOne();
        using var scope = NewDisposeScope();
        using var teacher = TinyWorldData.NewTeacher();
        var (_, prompts) = TinyWorldData.Data();
        using var pairs = OdePairGenerator.Generate(teacher, prompts, null, TinyWorldData.LatentShape, 5, new OdePairSettings { Steps = 4 });
        double Loss(bool mixed)
        {
            using var student = new CausalWanModel(TinyWorldData.Config);
            student.InitializeRandom(300, std: 0.05);
            using var random = new SeededTrainingRandom(22);
            using var trainer = new OdeInitTrainer(student, pairs.TimestepValues, OdeInitTrainerTests.Settings with { MixedPrecision = mixed }, random);
            var loss = trainer.TrainStep(pairs.OdeLatent, pairs.PromptEmbeds).Loss;
            Assert.Equal(ScalarType.Float32, student.parameters().First().dtype);
            return loss;
        }
        double fp32 = Loss(false), bf16 = Loss(true);
        output.WriteLine($"ODE-init first loss fp32 {fp32:G6}, bf16 {bf16:G6}");
        Assert.NotEqual(fp32, bf16);
        Assert.True(Math.Abs(bf16 - fp32) <= 0.02 * fp32, $"bf16 {bf16:G6} vs fp32 {fp32:G6}");
    }
}
