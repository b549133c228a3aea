using SelfForcing.Model.Dit;
using SelfForcing.Training.Dmd;
using SelfForcing.Training.Objectives;
using SelfForcing.Training.Optim;
using SelfForcing.Training.Randomness;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace SelfForcing.Training.Tests.Dmd;

/// <summary>
/// A few hundred DMD steps against a tiny frozen teacher move the generator's samples toward the teacher's, and lower
/// the DMD objective.
/// <para>
/// The teacher is a tiny WanModel whose output layer is zeroed except its bias b: its flow is the constant b_c per
/// channel, so its ODE maps noise z to z − b (Euler is exact for a constant velocity), i.e. its samples are N(−b_c, 1)
/// per channel, whatever the prompt (so CFG is a no-op). Everything else in it is the real network. The generator starts
/// from random weights, whose samples have roughly zero channel means.
/// </para>
/// <para>
/// Statistic: the distance between the per-channel mean and std of the generator's 4-step samples and of the teacher's
/// samples, over a fixed set of noise seeds: D = rms_c(μ_G − μ_T) + rms_c(σ_G − σ_T). The teacher differs from the
/// untrained generator exactly in these moments (by construction), matching the distribution is what DMD's reverse-KL
/// gradient does, and with fixed seeds D is a deterministic, low-variance number. The same D of the untrained generator
/// is the baseline, so the test fails if training does not move the samples (or moves them away).
/// </para>
/// </summary>
public class DmdConvergenceTests(ITestOutputHelper output)
{
    private const int Steps = 200;
    private static readonly long[] Latent = [3, WanConfig.Tiny.InDim, 4, 4];

    private static readonly DmdSettings Settings = new()
    {
        DfakeGenUpdateRatio = 2, EmaStartStep = 1_000_000,
        Optimizers = new AdamWSettingsPair { Generator = new AdamWSettings(3e-3, 0.0, 0.999, 0.0), Critic = new AdamWSettings(3e-3, 0.0, 0.999, 0.0) },
    };

    private static float TeacherBias(int channel) => channel % 2 == 0 ? 0.6f : -0.6f;

    [Fact]
    [Trait("Category", "Slow")]
    public void Dmd_moves_the_generators_samples_toward_the_teachers()
    {
        using var networks = TinyDmd.SeededNetworks();
        var (gen, real, fake) = networks;
        using (no_grad())
        {
            real.head.head.weight!.zero_();
            long outs = real.head.head.bias!.shape[0];
            real.head.head.bias.copy_(tensor(Enumerable.Range(0, (int)outs).Select(i => TeacherBias(i % WanConfig.Tiny.OutDim)).ToArray()));
        }
        var generator = new GeneratorNetwork(gen);
        using var g = new Generator(5);
        using var prompts = randn([1, WanConfig.Tiny.TextLen, WanConfig.Tiny.TextDim], generator: g);
        using var negative = randn([1, WanConfig.Tiny.TextLen, WanConfig.Tiny.TextDim], generator: g);
        using var evalNoise = randn([8, .. Latent], generator: g);

        var teacher = TeacherSamples(new ScoreNetwork(real), evalNoise, prompts);
        var sampler = (Settings with { LastStepOnly = true }).CreateRollout(generator);
        double before = Distance(Samples(sampler, evalNoise, prompts), teacher);

        using var random = new SeededTrainingRandom(7);
        using var trainer = new DmdTrainer(Settings.CreateRollout(generator), new ScoreNetwork(real), new ScoreNetwork(fake), Latent, Settings, random);
        var losses = new List<double>();
        var clock = System.Diagnostics.Stopwatch.StartNew();
        for (int i = 0; i < Steps; i++)
            if (trainer.TrainStep(prompts, prompts, negative).GeneratorLoss is { } l) losses.Add(l);
        double after = Distance(Samples(sampler, evalNoise, prompts), teacher);

        int q = losses.Count / 4;
        double early = losses.Take(q).Average(), late = losses.TakeLast(q).Average();
        output.WriteLine($"{Steps} steps in {clock.Elapsed.TotalSeconds:F1}s; D before {before:G4}, after {after:G4}; " +
                         $"DMD loss first quarter {early:G4}, last quarter {late:G4}");
        Assert.True(after < 0.5 * before, $"moment distance to the teacher: before {before:G4}, after {after:G4}");
        Assert.True(late < early, $"DMD generator loss: first quarter {early:G4}, last quarter {late:G4}");
    }

    /// <summary>The teacher's samples: a 4-step Euler ODE of its flow from σ = 1 to 0 (exact here, the flow being constant).</summary>
    private static Tensor TeacherSamples(ScoreNetwork teacher, Tensor noise, Tensor prompts)
    {
        using var noGrad = no_grad();
        var x = noise.clone();
        var p = prompts.expand(noise.shape[0], -1, -1);
        double[] sigmas = [1.0, 0.75, 0.5, 0.25, 0.0];
        for (int i = 0; i < 4; i++)
        {
            var t = full([noise.shape[0], noise.shape[1]], (float)(sigmas[i] * 1000), ScalarType.Float32);
            var flow = teacher.Predict(x, p, t).Flow;
            x = x + (sigmas[i + 1] - sigmas[i]) * flow;
        }
        return x;
    }

    /// <summary>The generator's full 4-step samples (every chunk exits at the last step), one seeded source for the re-noise draws.</summary>
    private static Tensor Samples(SelfForcingRollout sampler, Tensor noise, Tensor prompts)
    {
        using var noGrad = no_grad();
        using var random = new SeededTrainingRandom(11);
        return sampler.Run(noise, prompts.expand(noise.shape[0], -1, -1), random).Output;
    }

    /// <summary>rms over channels of the mean difference + the same of the std difference, moments over samples, frames and pixels.</summary>
    private static double Distance(Tensor a, Tensor b)
    {
        static (Tensor Mean, Tensor Std) Moments(Tensor x) { var c = x.transpose(0, 2).flatten(1); return (c.mean([1]), c.std([1])); }
        var (ma, sa) = Moments(a);
        var (mb, sb) = Moments(b);
        return (ma - mb).square().mean().sqrt().item<float>() + (sa - sb).square().mean().sqrt().item<float>();
    }
}
