using System.Globalization;
using SelfForcing.Model.Dit;
using TorchSharp;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace SelfForcing.Training.Tests.Precision;

/// <summary>
/// What activation checkpointing is for: the peak resident memory of one training forward + backward of a small DiT
/// (8 blocks, 768 tokens) with and without it. Linux only (peak RSS from /proc, reset through clear_refs); large
/// tensors are mmapped by the allocator, so freed activations leave the resident set.
/// </summary>
[Collection(MemoryMeasurement.Name)]
public class CheckpointingMemoryTests(ITestOutputHelper output)
{
    private static readonly WanConfig Small = WanConfig.Tiny with { Dim = 128, FfnDim = 512, NumHeads = 2, NumLayers = 8, FreqDim = 64 };

    /// <summary>Peak resident memory above the resident memory at the start, in MiB, of one forward + backward.</summary>
    private static double PeakMiB(WanModel model, Tensor x, Tensor t, Tensor context)
    {
        foreach (var p in model.parameters()) p.grad = null;
        return PeakResidentMemory.MiB(() => model.Forward(x, t, context).square().mean().backward());
    }

    [Fact]
    [Trait("Category", "Slow")]
    public void Checkpointing_lowers_the_peak_memory_of_a_training_step()
    {
        if (!File.Exists("/proc/self/clear_refs")) return; // the measurement needs Linux (and glibc)
        Assert.True(PeakResidentMemory.FixMmapThreshold());
        using var scope = NewDisposeScope();
        using var model = new WanModel(Small);
        model.InitializeRandom(1, std: 0.02);
        var gen = new Generator(2);
        var x = randn([1, Small.InDim, 12, 16, 16], generator: gen); // 12 × 8 × 8 = 768 tokens
        var t = tensor(new[] { 700f });
        var context = randn([1, Small.TextLen, Small.TextDim], generator: gen);

        model.GradientCheckpointing = false;
        PeakMiB(model, x, t, context); // warm-up: one-time allocations (kernels, thread pools) are not activations
        var plain = PeakMiB(model, x, t, context);
        model.GradientCheckpointing = true;
        var checkpointed = PeakMiB(model, x, t, context);
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"8 blocks, dim 128, 768 tokens, fp32 CPU: peak above start {plain:F1} MiB without checkpointing, {checkpointed:F1} MiB with"));
        Assert.True(checkpointed < 0.6 * plain, $"checkpointed peak {checkpointed:F1} MiB is not well below {plain:F1} MiB");
    }
}

/// <summary>Peak RSS is process-wide: the measuring test runs with no other test of the assembly beside it.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class MemoryMeasurement
{
    public const string Name = "Memory measurement (runs alone)";
}
