using SelfForcing.Model.Dit;
using SelfForcing.Training.Objectives;
using SelfForcing.Training.Randomness;
using static TorchSharp.torch;

namespace SelfForcing.Training.Tests.Precision;

/// <summary>
/// Activation checkpointing of the rollout's KV-cached exit-step forwards: the same output and gradients as keeping the
/// activations (noise and every parameter, gradient across chunks through the cache included), the cache written once
/// and never touched by the recomputation, and the recomputation really happening.
/// </summary>
public class RolloutCheckpointingTests
{
    private static readonly WanConfig Config = WanConfig.Tiny with { NumLayers = 3 };
    private static readonly float[] Steps = [1000f, 937.5f, 833.3333f, 625f];

    /// <summary>Seeded draws with the exit step of each chunk fixed (0 lets gradient reach the noise).</summary>
    private sealed class FixedExits(long[] exits, long seed) : ITrainingRandom
    {
        private readonly SeededTrainingRandom _inner = new(seed);
        public Tensor RandInt(long low, long high, long[] shape, string role) =>
            role == SelfForcingRollout.ExitStepsRole ? tensor(exits, ScalarType.Int64) : _inner.RandInt(low, high, shape, role);
        public Tensor Randn(long[] shape, ScalarType dtype, Device device, string role) => _inner.Randn(shape, dtype, device, role);
    }

    private sealed record RolloutRun(Tensor Output, Tensor NoiseGrad, Dictionary<string, Tensor> Grads, long Recomputed, int GradientExitCalls);

    /// <summary>One rollout (9 frames, 3 chunks) and the backward of a seeded weighted sum of its output.</summary>
    private static RolloutRun Run(bool checkpointing, CacheGradient mode, long[] exits)
    {
        using var model = new CausalWanModel(Config);
        model.InitializeRandom(31, std: 0.2);
        model.GradientCheckpointing = checkpointing;
        var rollout = new SelfForcingRollout(new GeneratorNetwork(model), Steps) { CacheGradient = mode, SameStepAcrossBlocks = false };
        var gen = new TorchSharp.torch.Generator(32);
        var noise = randn([1, 9, Config.InDim, 4, 4], generator: gen).requires_grad_(true);
        var context = randn([1, 8, Config.TextDim], generator: gen);
        var weight = randn([1, 9, Config.InDim, 4, 4], generator: gen);
        int exitCalls = 0;
        var result = rollout.Run(noise, context, new FixedExits(exits, 33), c => { if (c.Kind == RolloutCallKind.Exit && c.GradEnabled) exitCalls++; });
        (result.Output * weight).sum().backward();
        var grads = model.named_parameters().Where(p => p.parameter.grad is not null)
            .ToDictionary(p => p.name, p => p.parameter.grad!.clone(), StringComparer.Ordinal);
        return new RolloutRun(result.Output.detach().clone(), (noise.grad ?? zeros_like(noise)).clone(), grads, model.RecomputedBlocks, exitCalls);
    }

    /// <summary>Relative to the tensor's largest magnitude: the recomputation sums the same products in another order.</summary>
    private static void AssertClose(Tensor expected, Tensor actual, string what)
    {
        double scale = Math.Max(expected.abs().max().item<float>(), 1e-12);
        double diff = (expected - actual).abs().max().item<float>();
        Assert.True(diff <= 1e-5 * scale, $"{what}: max |diff| {diff:G3} vs max |value| {scale:G3}");
    }

    [Theory]
    [InlineData(CacheGradient.Reference)]
    [InlineData(CacheGradient.Detached)]
    public void Checkpointed_exit_forwards_give_the_plain_rollouts_output_and_gradients(CacheGradient mode)
    {
        using var scope = NewDisposeScope();
        long[] exits = [0, 2, 0]; // chunk 1 exits after two no-grad steps; chunks 0 and 2 pass gradient to their noise
        var plain = Run(checkpointing: false, mode, exits);
        var checkpointed = Run(checkpointing: true, mode, exits);

        Assert.True(checkpointed.Recomputed > 0, "the checkpointed run recomputed nothing");
        AssertClose(plain.Output, checkpointed.Output, "output");
        AssertClose(plain.NoiseGrad, checkpointed.NoiseGrad, "noise gradient");
        Assert.True(plain.NoiseGrad.narrow(1, 0, 3).ne(0).any().item<bool>(), "chunk 0's noise got no gradient: the comparison would be empty");
        Assert.Equal(plain.Grads.Keys.Order(StringComparer.Ordinal), checkpointed.Grads.Keys.Order(StringComparer.Ordinal));
        Assert.Equal(new CausalWanModel(Config).parameters().Count(), plain.Grads.Count);
        foreach (var (name, g) in plain.Grads) AssertClose(g, checkpointed.Grads[name], name);
    }

    [Fact]
    public void Every_gradient_carrying_exit_forward_is_recomputed_once_per_block()
    {
        using var scope = NewDisposeScope();
        var plain = Run(checkpointing: false, CacheGradient.Reference, [1, 0, 3]);
        var checkpointed = Run(checkpointing: true, CacheGradient.Reference, [1, 0, 3]);
        Assert.Equal(0, plain.Recomputed);
        Assert.Equal(3, checkpointed.GradientExitCalls);
        // Would be 0 if the cached calls silently kept their activations; the no-grad and context calls are never recomputed.
        Assert.Equal(Config.NumLayers * checkpointed.GradientExitCalls, checkpointed.Recomputed);
    }

    [Fact]
    public void The_recomputation_neither_writes_nor_reads_a_changed_cache()
    {
        // Two chunks by hand: chunk 0's gradient call, its no-grad context re-run over the same slots (which the backward
        // must not see: chunk 0 attends to its own exit keys), then chunk 1's gradient call. Backward runs while the cache
        // still lives, so any write by the recomputation would show.
        using var scope = NewDisposeScope();
        (Tensor Keys, Tensor Values, long End, Dictionary<string, Tensor> Grads, Tensor Output) Chunks(bool checkpointing)
        {
            using var model = new CausalWanModel(Config);
            model.InitializeRandom(41, std: 0.2);
            model.GradientCheckpointing = checkpointing;
            var gen = new TorchSharp.torch.Generator(42);
            var x0 = randn([1, Config.InDim, 3, 4, 4], generator: gen);
            var ctxNoise = randn([1, Config.InDim, 3, 4, 4], generator: gen);
            var x1 = randn([1, Config.InDim, 3, 4, 4], generator: gen);
            var context = randn([1, 8, Config.TextDim], generator: gen);
            using var cache = model.CreateCache(1, 6, 4, 4, CPU, ScalarType.Float32);
            var t = full([1, 3], 937.5f);
            var out0 = model.Forward(x0, t, context, cache, 0);
            using (no_grad()) model.Forward(ctxNoise, zeros([1, 3]), context, cache, 0);
            var out1 = model.Forward(x1, t, context, cache, 3 * cache.TokensPerFrame);
            var before = Enumerable.Range(0, Config.NumLayers).Select(cache.OrderedSelfAttention).ToList();
            long end = cache.GlobalEnd;
            (out0.sum() + out1.square().sum()).backward();
            for (int l = 0; l < Config.NumLayers; l++)
            {
                var (k, v) = cache.OrderedSelfAttention(l);
                Assert.True(k.eq(before[l].K).all().item<bool>() && v.eq(before[l].V).all().item<bool>(), $"backward changed layer {l}'s cache");
            }
            Assert.Equal(end, cache.GlobalEnd);
            var grads = model.named_parameters().ToDictionary(p => p.name, p => p.parameter.grad!.clone(), StringComparer.Ordinal);
            return (cat(before.Select(b => b.K).ToArray()), cat(before.Select(b => b.V).ToArray()), end, grads, cat([out0, out1]).detach());
        }
        var plain = Chunks(checkpointing: false);
        var checkpointed = Chunks(checkpointing: true);
        // The checkpointed forward writes the same keys and values, once.
        AssertClose(plain.Keys, checkpointed.Keys, "cached keys");
        AssertClose(plain.Values, checkpointed.Values, "cached values");
        AssertClose(plain.Output, checkpointed.Output, "outputs");
        foreach (var (name, g) in plain.Grads) AssertClose(g, checkpointed.Grads[name], name);
    }
}
