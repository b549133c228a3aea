using SelfForcing.Model.Dit;
using SelfForcing.Training.Dmd;
using SelfForcing.Training.Objectives;
using SelfForcing.Training.Optim;
using SelfForcing.Training.Randomness;
using static TorchSharp.torch;

namespace SelfForcing.Training.Tests.Dmd;

/// <summary>The DMD outer loop on tiny models: who is updated when, the frozen teacher, the EMA's start.</summary>
public class DmdTrainerTests
{
    // A large learning rate so that one step visibly moves float32 weights (the shipped 2e-6 moves them by ~20 ulp).
    private static readonly DmdSettings Fast = new()
    {
        DfakeGenUpdateRatio = 5, EmaStartStep = 3,
        Optimizers = new AdamWSettingsPair { Generator = new AdamWSettings(1e-3, 0.0, 0.999, 0.01), Critic = new AdamWSettings(1e-3, 0.0, 0.999, 0.01) },
    };

    private static bool Same(Tensor a, Tensor b) => a.shape.SequenceEqual(b.shape) && a.eq(b).all().item<bool>();

    private static Tensor Flat(nn.Module m) => cat(m.parameters().Select(p => p.detach().flatten()).ToArray()).clone();

    [Fact]
    public void Generator_steps_every_ratio_critic_every_step_teacher_never()
    {
        using var s = new TinyDmd(Fast, seed: 7);
        var teacherBefore = Flat(s.Real);
        var initial = Flat(s.Gen);
        Tensor? emaAtStart = null;
        for (int i = 0; i < 6; i++)
        {
            var gen = Flat(s.Gen);
            var critic = Flat(s.Fake);
            var ema = s.Trainer.Ema is { } e ? cat(e.Shadow.Values.Select(t => t.flatten()).ToArray()).clone() : null;
            var report = s.Step();

            bool genStep = i % 5 == 0;
            Assert.Equal(genStep, report.TrainedGenerator);
            Assert.Equal(genStep, !Same(Flat(s.Gen), gen));
            Assert.False(Same(Flat(s.Fake), critic), $"step {i}: the critic did not move");
            Assert.True(double.IsFinite(report.CriticLoss) && report.CriticLoss > 0);
            if (genStep) Assert.True(report.GeneratorLoss is > 0 && double.IsFinite(report.GeneratorLoss.Value));
            Assert.Equal(report.Step >= 3, report.EmaActive);
            if (ema is not null)
            {
                var now = cat(s.Trainer.Ema!.Shadow.Values.Select(t => t.flatten()).ToArray());
                Assert.Equal(genStep, !Same(now, ema)); // the EMA follows generator updates only
            }
            if (report.Step == 3)
            {
                emaAtStart = cat(s.Trainer.Ema!.Shadow.Values.Select(t => t.flatten()).ToArray()).clone();
                // Created from the weights current at step 3 (after the step-0 generator update), not the initial ones.
                Assert.True(Same(emaAtStart, Flat(s.Gen)));
                Assert.False(Same(emaAtStart, initial));
            }
        }
        Assert.True(Same(Flat(s.Real), teacherBefore), "the teacher's weights changed");
        Assert.All(s.Real.parameters(), p => Assert.Null(p.grad));
        Assert.NotNull(emaAtStart);
    }

    [Fact]
    public void Same_seed_same_weights()
    {
        Tensor Run()
        {
            using var s = new TinyDmd(Fast, seed: 11);
            s.Step();
            s.Step();
            return cat([Flat(s.Gen), Flat(s.Fake)]);
        }
        // Bitwise on one machine: same draws, same single-process CPU kernels.
        Assert.True(Same(Run(), Run()));
    }

    [Fact]
    public void Gradient_checkpointing_changes_memory_not_results()
    {
        (Tensor Weights, double CriticLoss) Run(bool checkpointing)
        {
            using var s = new TinyDmd(Fast with { GradientCheckpointing = checkpointing }, seed: 11);
            Assert.Equal(checkpointing, s.Fake.GradientCheckpointing);
            double loss = 0;
            for (int i = 0; i < 6; i++) loss = s.Step().CriticLoss; // generator phase on steps 0 and 5
            return (cat([Flat(s.Gen), Flat(s.Fake)]), loss);
        }
        var (on, lossOn) = Run(true);
        var (off, lossOff) = Run(false);
        // The recomputed block forward is the same arithmetic on the same inputs, its gradients summed in another order: they
        // differ by float rounding (RolloutCheckpointingTests: ≤ 1e-5 relative). Six AdamW steps (β1 = 0) divide every
        // entry's gradient by its own running magnitude, which magnifies that rounding where a gradient is small (measured
        // up to 2.2e-5 of the largest weight, with more intra-op threads), and the critic trains on the generator's slightly
        // different samples. A checkpointing bug (a lost gradient route through the cache) moves weights by ~lr = 1e-3.
        double scale = off.abs().max().item<float>();
        Assert.True((on - off).abs().max().item<float>() <= 1e-4 * scale, "checkpointed training moved the weights differently");
        Assert.Equal(lossOff, lossOn, 5);
    }
}
