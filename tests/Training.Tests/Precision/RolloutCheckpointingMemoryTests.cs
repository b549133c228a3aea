using System.Globalization;
using SelfForcing.Model.Dit;
using SelfForcing.Training.Objectives;
using SelfForcing.Training.Randomness;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace SelfForcing.Training.Tests.Precision;

/// <summary>
/// The peak resident memory of one Self-Forcing rollout with its backward (a small causal DiT: 8 blocks, 4 chunks of 192
/// tokens, every chunk's exit call carrying gradient) with and without checkpointing its exit-step forwards. Measured as
/// <see cref="CheckpointingMemoryTests"/> measures the cache-free forward (Linux: peak RSS through clear_refs, glibc's
/// mmap threshold fixed so freed activations leave the resident set).
/// </summary>
[Collection(MemoryMeasurement.Name)]
public class RolloutCheckpointingMemoryTests(ITestOutputHelper output)
{
    private static readonly WanConfig Small = WanConfig.Tiny with { Dim = 128, FfnDim = 512, NumHeads = 2, NumLayers = 8, FreqDim = 64 };
    private static readonly float[] Steps = [1000f, 937.5f, 833.3333f, 625f];

    /// <summary>Seeded draws; every chunk exits at step 0 (one no-grad context pass after each exit call).</summary>
    private sealed class FirstStepExit(long seed) : ITrainingRandom
    {
        private readonly SeededTrainingRandom _inner = new(seed);
        public Tensor RandInt(long low, long high, long[] shape, string role) =>
            role == SelfForcingRollout.ExitStepsRole ? zeros(shape, ScalarType.Int64) : _inner.RandInt(low, high, shape, role);
        public Tensor Randn(long[] shape, ScalarType dtype, Device device, string role) => _inner.Randn(shape, dtype, device, role);
    }

    /// <summary>Peak resident memory above the resident memory at the start, in MiB, of one rollout + backward.</summary>
    private static double PeakMiB(CausalWanModel model, Tensor noise, Tensor context)
    {
        foreach (var p in model.parameters()) p.grad = null;
        return PeakResidentMemory.MiB(() =>
        {
            var rollout = new SelfForcingRollout(new GeneratorNetwork(model), Steps);
            rollout.Run(noise, context, new FirstStepExit(3)).Output.square().mean().backward();
        });
    }

    [Fact]
    [Trait("Category", "Slow")]
    public void Checkpointing_the_exit_forwards_lowers_the_rollouts_peak_memory()
    {
        if (!File.Exists("/proc/self/clear_refs")) return; // the measurement needs Linux (and glibc)
        Assert.True(PeakResidentMemory.FixMmapThreshold());
        using var scope = NewDisposeScope();
        using var model = new CausalWanModel(Small);
        model.InitializeRandom(1, std: 0.02);
        var gen = new TorchSharp.torch.Generator(2);
        var noise = randn([1, 12, Small.InDim, 16, 16], generator: gen); // 4 chunks × 3 frames × 8 × 8 tokens
        var context = randn([1, Small.TextLen, Small.TextDim], generator: gen);

        model.GradientCheckpointing = false;
        PeakMiB(model, noise, context); // warm-up: one-time allocations (kernels, thread pools) are not activations
        var plain = PeakMiB(model, noise, context);
        model.GradientCheckpointing = true;
        long recomputed = model.RecomputedBlocks;
        var checkpointed = PeakMiB(model, noise, context);
        Assert.Equal(4 * Small.NumLayers, model.RecomputedBlocks - recomputed); // 4 exit calls × 8 blocks
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"rollout of 4 chunks × 192 tokens, 8 blocks, dim 128, fp32 CPU: peak above start {plain:F1} MiB without checkpointing the exit forwards, {checkpointed:F1} MiB with"));
        Assert.True(checkpointed < 0.6 * plain, $"checkpointed peak {checkpointed:F1} MiB is not well below {plain:F1} MiB");
    }
}
