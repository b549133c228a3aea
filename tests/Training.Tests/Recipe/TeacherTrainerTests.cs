using SelfForcing.Model.Dit;
using SelfForcing.Model.Sampling;
using SelfForcing.Training.Objectives;
using SelfForcing.Training.Ode;
using SelfForcing.Training.Randomness;
using SelfForcing.Training.Teacher;
using TorchSharp;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace SelfForcing.Training.Tests.Recipe;

/// <summary>Flow-matching training of the bidirectional teacher on a fixed toy data set.</summary>
public class TeacherTrainerTests(ITestOutputHelper output)
{
    private static Tensor Samples(WanModel teacher, Tensor prompts, int count)
    {
        using var scope = NewDisposeScope();
        var gen = new Generator(200);
        var noise = randn([count, .. TinyWorldData.LatentShape], generator: gen);
        var p = prompts.index_select(0, arange(count, ScalarType.Int64).remainder(2));
        var sampler = new TeacherOdeSampler(teacher, new EulerSchedule(20, 5.0));
        return sampler.Sample(noise, p).MoveToOuterDisposeScope();
    }

    [Fact]
    public void Loss_falls_and_the_teachers_ODE_samples_move_to_the_data()
    {
        TorchThreads.UseOne();
        var (latents, prompts) = TinyWorldData.Data();
        using var untrained = TinyWorldData.NewTeacher();
        using var before = Samples(untrained, prompts, 8);
        var (teacher, losses) = TinyWorldData.TrainedTeacher;
        using var after = Samples(teacher, prompts, 8);

        double first = losses.Take(20).Average(), last = losses.TakeLast(20).Average();
        Assert.True(last < 0.5 * first, $"flow-matching loss {first:G4} (first 20 steps) → {last:G4} (last 20)");
        double dBefore = TinyWorldData.DistanceToData(before, latents), dAfter = TinyWorldData.DistanceToData(after, latents);
        output.WriteLine($"loss {first:G4} → {last:G4}; sample distance to data {dBefore:G4} → {dAfter:G4}");
        // The data's latents have unit variance: a distance well below 1 means samples land near their prompt's latent.
        Assert.True(dAfter < 0.5 * dBefore, $"distance of 20-step samples to their prompt's data: {dBefore:G4} before training, {dAfter:G4} after");
        latents.Dispose(); prompts.Dispose();
    }

    [Fact]
    public void Training_is_deterministic_from_the_seed_and_condition_dropout_draws_in_order()
    {
        TorchThreads.UseOne();
        double[] Run(double dropout)
        {
            using var teacher = TinyWorldData.NewTeacher();
            using var random = new SeededTrainingRandom(5);
            using var trainer = new TeacherTrainer(teacher, TinyWorldData.Settings with { ConditionDropout = dropout }, random);
            var (latents, prompts) = TinyWorldData.Data();
            using var uncond = zeros([1, TinyWorldData.Config.TextLen, TinyWorldData.Config.TextDim]);
            var losses = Enumerable.Range(0, 3).Select(_ => trainer.TrainStep(latents, prompts, uncond).Loss).ToArray();
            latents.Dispose(); prompts.Dispose();
            return losses;
        }
        Assert.Equal(Run(0), Run(0));
        Assert.Equal(Run(0.5), Run(0.5));
        Assert.NotEqual(Run(0), Run(1.0)); // every prompt dropped: the model sees other conditioning
    }

    [Fact]
    public void Condition_dropout_without_unconditional_embeddings_is_an_error()
    {
        TorchThreads.UseOne();
        using var teacher = TinyWorldData.NewTeacher();
        using var random = new SeededTrainingRandom(5);
        using var trainer = new TeacherTrainer(teacher, TinyWorldData.Settings with { ConditionDropout = 0.1 }, random);
        var (latents, prompts) = TinyWorldData.Data();
        Assert.Throws<ArgumentException>(() => trainer.TrainStep(latents, prompts));
        latents.Dispose(); prompts.Dispose();
    }
    [Fact]
    public void The_reference_loss_weight_starves_the_highest_noise_and_uniform_weighs_every_timestep_alike()
    {
        TorchThreads.UseOne();
        // The reference's bump: zero at the top of the grid, where a from-scratch teacher must learn to place objects.
        var grid = new FlowMatchScheduler(2.0);
        float peak = grid.LinearTimestepsWeights.Max();
        Assert.True(grid.TrainingWeight(1000f) < 0.01f * peak, $"weight at t = 1000: {grid.TrainingWeight(1000f)} of {peak}");
        Assert.True(grid.TrainingWeight(950f) < 0.2f * peak, $"weight at t = 950: {grid.TrainingWeight(950f)} of {peak}");

        FlowMatchingLossResult Loss(bool reference)
        {
            using var teacher = TinyWorldData.NewTeacher();
            using var random = new SeededTrainingRandom(7);
            var (latents, prompts) = TinyWorldData.Data();
            using var noGrad = no_grad();
            return new FlowMatchingLoss(grid) { UseTrainingWeight = reference }.Compute(teacher, latents, prompts, random);
        }
        using var scope = NewDisposeScope();
        var uniform = Loss(false);
        var weighted = Loss(true);
        Assert.True(uniform.Weight.eq(1).all().item<bool>());
        var perFrame = (uniform.FlowPred - uniform.Target).square().mean([2, 3, 4]);
        Assert.Equal(perFrame.mean().item<float>(), uniform.Loss.item<float>(), 5);
        // The same draws, so the same per-frame errors; only the weighting differs.
        Assert.True(weighted.FlowPred.allclose(uniform.FlowPred));
        var expected = (perFrame * weighted.Weight.unsqueeze(1)).mean().item<float>();
        Assert.Equal(expected, weighted.Loss.item<float>(), 5);
        Assert.False(weighted.Weight.eq(1).all().item<bool>());
    }
}
