using SelfForcing.Training.Dmd;
using SelfForcing.Training.Optim;
using SelfForcing.Training.Tests.Dmd;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace SelfForcing.Training.Tests.Precision;

/// <summary>
/// bf16 mixed precision in the DMD stage: the rollout, the teacher and the critic compute in bf16, the weights, AdamW and the
/// EMA stay float32, and training goes the way float32 training goes.
/// </summary>
public class DmdMixedPrecisionTests(ITestOutputHelper output)
{
    private const int Steps = 6;

    // Every step trains both networks; a learning rate that visibly moves float32 weights; the EMA from step 2.
    private static readonly DmdSettings Settings = new()
    {
        DfakeGenUpdateRatio = 1, EmaStartStep = 2,
        Optimizers = new AdamWSettingsPair { Generator = new AdamWSettings(1e-3, 0.0, 0.999, 0.01), Critic = new AdamWSettings(1e-3, 0.0, 0.999, 0.01) },
    };

    private sealed record DmdRun(double[] GeneratorLosses, double[] CriticLosses, Tensor Generator, Tensor Critic, Tensor Teacher,
        IReadOnlyList<ScalarType> StateDTypes);

    private static DmdRun Train(bool mixed)
    {
        using var s = new TinyDmd(Settings with { MixedPrecision = mixed }, seed: 13);
        var reports = Enumerable.Range(0, Steps).Select(_ => s.Step()).ToList();
        using var scope = NewDisposeScope();
        // The weights, their gradients, the EMA shadow and the optimisers' moments: all float32.
        var dtypes = s.Gen.parameters().Concat(s.Fake.parameters()).Concat(s.Real.parameters()).Select(p => p.dtype)
            .Concat(s.Gen.parameters().Concat(s.Fake.parameters()).Where(p => p.grad is not null).Select(p => p.grad!.dtype))
            .Concat(s.Trainer.ExportResumeState().Where(kv => kv.Key.StartsWith("ema.", StringComparison.Ordinal) || kv.Key.Contains(".exp_avg", StringComparison.Ordinal))
                .Select(kv => kv.Value.dtype))
            .ToList();
        return new DmdRun(reports.Select(r => r.GeneratorLoss!.Value).ToArray(), reports.Select(r => r.CriticLoss).ToArray(),
            TinyDmd.Flat(s.Gen).DetachFromDisposeScope(), TinyDmd.Flat(s.Fake).DetachFromDisposeScope(), TinyDmd.Flat(s.Real).DetachFromDisposeScope(),
            dtypes);
    }

    [Fact]
    public void Bf16_dmd_steps_train_like_fp32_with_fp32_weights_optimiser_and_ema()
    {
        TorchThreads.UseOne();
        using var scope = NewDisposeScope();
        using var initial = new TinyDmd(Settings, seed: 13);
        var startGen = TinyDmd.Flat(initial.Gen);
        var startCritic = TinyDmd.Flat(initial.Fake);
        var fp32 = Train(mixed: false);
        var bf16 = Train(mixed: true);
        string Show(double[] v) => string.Join(", ", v.Select(l => l.ToString("G5")));
        output.WriteLine($"generator loss fp32 [{Show(fp32.GeneratorLosses)}]\n               bf16 [{Show(bf16.GeneratorLosses)}]");
        output.WriteLine($"critic loss    fp32 [{Show(fp32.CriticLosses)}]\n               bf16 [{Show(bf16.CriticLosses)}]");
        double Cos(Tensor a, Tensor b) => (a * b).sum().item<float>() / (a.norm().item<float>() * b.norm().item<float>());
        output.WriteLine($"cosine(update bf16, update fp32): generator {Cos(bf16.Generator - startGen, fp32.Generator - startGen):F4}, critic {Cos(bf16.Critic - startCritic, fp32.Critic - startCritic):F4}");
        for (int i = 0; i < Steps; i++)
            output.WriteLine($"step {i}: rel diff generator {Math.Abs(bf16.GeneratorLosses[i] - fp32.GeneratorLosses[i]) / fp32.GeneratorLosses[i]:G3}, critic {Math.Abs(bf16.CriticLosses[i] - fp32.CriticLosses[i]) / fp32.CriticLosses[i]:G3}");
        Assert.All(bf16.StateDTypes, t => Assert.Equal(ScalarType.Float32, t));
        Assert.True(bf16.StateDTypes.Count > 3 * (initial.Gen.parameters().Count() + initial.Fake.parameters().Count()),
            "weights, gradients, moments and EMA were not all checked");

        // Same seed, same initial weights, same draws (the rollout's data stays float32): only bf16 rounding separates the
        // runs. Equal bits would mean nothing computed in bf16.
        Assert.NotEqual(fp32.GeneratorLosses[0], bf16.GeneratorLosses[0]);
        Assert.NotEqual(fp32.CriticLosses[0], bf16.CriticLosses[0]);
        // bf16 keeps 8 significant bits (relative rounding ≤ 2^-9 ≈ 0.2% per weight and activation); both losses are means over
        // thousands of elements, so their rounding mostly averages out (measured ≤ 0.18% on these 6 steps). 2% per step is
        // loose enough for other kernels and tight enough to catch a wrong cast (a float32 loss on bf16-truncated data, a
        // stale bf16 copy of the weights) — those move the losses by far more after a few AdamW steps at lr 1e-3.
        for (int i = 0; i < Steps; i++)
        {
            Assert.True(Math.Abs(bf16.GeneratorLosses[i] - fp32.GeneratorLosses[i]) <= 0.02 * fp32.GeneratorLosses[i], $"step {i}: generator loss bf16 {bf16.GeneratorLosses[i]:G6} vs fp32 {fp32.GeneratorLosses[i]:G6}");
            Assert.True(Math.Abs(bf16.CriticLosses[i] - fp32.CriticLosses[i]) <= 0.02 * fp32.CriticLosses[i], $"step {i}: critic loss bf16 {bf16.CriticLosses[i]:G6} vs fp32 {fp32.CriticLosses[i]:G6}");
            Assert.True(double.IsFinite(bf16.GeneratorLosses[i]) && double.IsFinite(bf16.CriticLosses[i]));
        }
        // The float32 weights moved, the way float32 training moved them (AdamW on the bf16 gradients handed back as float32).
        Assert.False(bf16.Generator.eq(startGen).all().item<bool>(), "the generator's weights did not move");
        Assert.True(Cos(bf16.Generator - startGen, fp32.Generator - startGen) > 0.95, "bf16 and fp32 generator updates disagree");
        Assert.True(Cos(bf16.Critic - startCritic, fp32.Critic - startCritic) > 0.95, "bf16 and fp32 critic updates disagree");
        Assert.True(bf16.Teacher.eq(TinyDmd.Flat(initial.Real)).all().item<bool>(), "the frozen teacher changed");
    }
}
