using SelfForcing.Model.Dit;
using SelfForcing.Training.Objectives;
using SelfForcing.Training.Randomness;
using static TorchSharp.torch;

namespace SelfForcing.Training.Tests.Objectives;

/// <summary>Where the rollout's gradient goes: only through exit-step calls, and across chunks only as the cache mode says.</summary>
public class SelfForcingRolloutTests
{
    private static readonly WanConfig Config = WanConfig.Tiny;
    private static readonly float[] Steps = [1000f, 937.5f, 833.3333f, 625f];

    /// <summary>Seeded draws, with the exit step fixed (the draw is random in training).</summary>
    private sealed class FixedExit(int exit, long seed) : ITrainingRandom
    {
        private readonly SeededTrainingRandom _inner = new(seed);
        public Tensor RandInt(long low, long high, long[] shape, string role) =>
            role == "exit steps" ? full(shape, exit, ScalarType.Int64) : _inner.RandInt(low, high, shape, role);
        public Tensor Randn(long[] shape, ScalarType dtype, Device device, string role) => _inner.Randn(shape, dtype, device, role);
    }

    /// <summary>Gradient of sum(last chunk's output) with respect to the noise, per chunk: max |grad|.</summary>
    private static double[] NoiseGradientPerChunk(int exit, CacheGradient mode)
    {
        using var scope = NewDisposeScope();
        using var model = new CausalWanModel(Config);
        model.InitializeRandom(9, std: 0.3);
        var rollout = new SelfForcingRollout(new GeneratorNetwork(model), Steps) { CacheGradient = mode };
        var gen = new TorchSharp.torch.Generator(4);
        var noise = randn([1, 9, Config.InDim, 4, 4], generator: gen).requires_grad_(true);
        var context = randn([1, 8, Config.TextDim], generator: gen);
        var result = rollout.Run(noise, context, new FixedExit(exit, 21));
        Assert.Equal(exit, result.ExitStep);
        result.Output.narrow(1, 6, 3).sum().backward();
        Assert.True(model.parameters().Any(p => p.grad is { } g && g.ne(0).any().item<bool>()), "no parameter received gradient");
        var g = noise.grad ?? zeros_like(noise);
        return Enumerable.Range(0, 3).Select(c => (double)g.narrow(1, 3 * c, 3).abs().max().item<float>()).ToArray();
    }

    [Fact]
    public void Detached_cache_keeps_each_chunks_gradient_inside_the_chunk()
    {
        var g = NoiseGradientPerChunk(exit: 0, CacheGradient.Detached);
        Assert.Equal(0.0, g[0]);
        Assert.Equal(0.0, g[1]);
        Assert.True(g[2] > 0, "the last chunk's exit call (step 0) should pass gradient to its own noise");
    }

    [Fact]
    public void Reference_cache_routes_later_chunks_gradient_into_earlier_exit_calls()
    {
        // kv-cache.md §10 (verified on the reference): a loss on the last chunk alone reaches the noise of chunks 0 and 1.
        var g = NoiseGradientPerChunk(exit: 0, CacheGradient.Reference);
        Assert.True(g[0] > 0 && g[1] > 0 && g[2] > 0, $"per-chunk max |d loss / d noise| = {string.Join(", ", g)}");
    }

    [Theory]
    [InlineData(CacheGradient.Reference)]
    [InlineData(CacheGradient.Detached)]
    public void Steps_before_the_exit_carry_no_gradient(CacheGradient mode)
    {
        // Exit at step 2: the exit call's input comes from no-grad steps, so nothing reaches the noise.
        Assert.All(NoiseGradientPerChunk(exit: 2, mode), g => Assert.Equal(0.0, g));
    }
}
