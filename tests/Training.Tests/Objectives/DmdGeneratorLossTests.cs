using SelfForcing.Model.Dit;
using SelfForcing.Model.Sampling;
using SelfForcing.Training.Objectives;
using SelfForcing.Training.Randomness;
using static TorchSharp.torch;

namespace SelfForcing.Training.Tests.Objectives;

/// <summary>Batching of the DMD generator loss: every sample is normalised by its own mean |x − real|.</summary>
public class DmdGeneratorLossTests
{
    /// <summary>Replays fixed draws: u per sample, then the noise.</summary>
    private sealed class Fixed(Tensor u, Tensor noise) : ITrainingRandom
    {
        public Tensor RandInt(long low, long high, long[] shape, string role) => u.reshape(shape);
        public Tensor Randn(long[] shape, ScalarType dtype, Device device, string role) => noise.reshape(shape).to(dtype, device);
    }

    [Fact]
    public void A_batch_of_two_equals_each_sample_alone()
    {
        using var scope = NewDisposeScope();
        var config = WanConfig.Tiny;
        using var real = new WanModel(config with { NumLayers = 3 });
        using var fake = new WanModel(config);
        real.InitializeRandom(1, std: 0.2);
        fake.InitializeRandom(2, std: 0.2);
        var loss = new DmdGeneratorLoss(new ScoreNetwork(real), new ScoreNetwork(fake), new FlowMatchScheduler(5.0));
        var gen = new TorchSharp.torch.Generator(3);
        // Two samples of very different scale, so that a normaliser shared across the batch would be off by ~10x; batched
        // kernels round differently from single-sample ones, hence a relative bound rather than equality.
        var latents = cat([randn([1, 6, 16, 4, 4], generator: gen), 10 * randn([1, 6, 16, 4, 4], generator: gen)]);
        var cond = randn([2, config.TextLen, config.TextDim], generator: gen);
        var uncond = randn([2, config.TextLen, config.TextDim], generator: gen);
        var noise = randn([2, 6, 16, 4, 4], generator: gen);
        var u = tensor(new long[] { 950, 3 }).view(2, 1); // both clamps: shift-5 t(950) = 989.6 → 980, t(3) = 14.8 → 20

        var both = loss.Compute(latents, cond, uncond, new Fixed(u, noise));
        Assert.Equal(new long[] { 2, 1, 1, 1, 1 }, both.Normalizer.shape);
        Assert.Equal(980f, both.Timestep[0, 0].item<float>());
        Assert.Equal(20f, both.Timestep[1, 0].item<float>());
        for (int i = 0; i < 2; i++)
        {
            var one = loss.Compute(latents.narrow(0, i, 1), cond.narrow(0, i, 1), uncond.narrow(0, i, 1),
                new Fixed(u.narrow(0, i, 1), noise.narrow(0, i, 1)));
            var expected = one.DmdGrad;
            double err = (both.DmdGrad.narrow(0, i, 1) - expected).abs().max().item<float>();
            Assert.True(err <= 1e-4 * expected.abs().max().item<float>(), $"sample {i}: batched DMD direction differs by {err:E2}");
            Assert.Equal(one.Normalizer.item<float>(), both.Normalizer[i].item<float>(), 1e-4 * one.Normalizer.item<float>());
        }
    }
}
