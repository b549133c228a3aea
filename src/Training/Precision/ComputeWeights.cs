using SelfForcing.Model.Dit;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace SelfForcing.Training.Precision;

/// <summary>
/// The weights a trainer optimises (float32 master) and the weights its forward and backward run with. Without mixed
/// precision they are the same module. With it (the reference's FSDP <c>mixed_precision</c>: parameters cast to bf16 for
/// compute, gradients reduced in fp32, fp32 master weights in the optimiser) a bf16 copy of the model computes: each step
/// starts by casting the master weights into it, and its bf16 gradients are handed back to the master as float32, where
/// clipping and AdamW run.
/// </summary>
public sealed class ComputeWeights<T> : IDisposable where T : WanTransformer
{
    private readonly List<(Parameter Master, Parameter Compute)> _pairs;

    public T Master { get; }
    public T Compute { get; }
    public bool MixedPrecision => !ReferenceEquals(Master, Compute);

    /// <param name="buildCompute">builds an empty model of the master's config on a device in a dtype (for the bf16 copy).</param>
    public ComputeWeights(T master, bool mixedPrecision, Func<WanConfig, Device, ScalarType, T> buildCompute)
    {
        Master = master;
        var first = master.parameters().First();
        if (first.dtype != ScalarType.Float32) throw new ArgumentException($"master weights must be float32, got {first.dtype}");
        Compute = mixedPrecision ? buildCompute(master.Config, first.device, ScalarType.BFloat16) : master;
        Compute.GradientCheckpointing = master.GradientCheckpointing;
        var computeParams = Compute.named_parameters().ToDictionary(p => p.name, p => p.parameter, StringComparer.Ordinal);
        _pairs = master.named_parameters().Select(p => (p.parameter, computeParams[p.name])).ToList();
        if (mixedPrecision)
            foreach (var (m, c) in _pairs) c.requires_grad_(m.requires_grad);
    }

    /// <summary>The dtype inputs must have for the compute model.</summary>
    public ScalarType DType => MixedPrecision ? ScalarType.BFloat16 : ScalarType.Float32;

    /// <summary>Before the forward: the compute copy takes the master's current values.</summary>
    public void PullWeights()
    {
        if (!MixedPrecision) return;
        using var noGrad = no_grad();
        foreach (var (m, c) in _pairs)
        {
            c.copy_(m);
            c.grad?.Dispose();
            c.grad = null;
        }
    }

    /// <summary>After backward: the master's gradients become the compute copy's, in float32 (none where it has none).</summary>
    public void PushGradients()
    {
        if (!MixedPrecision) return;
        using var noGrad = no_grad();
        foreach (var (m, c) in _pairs)
        {
            m.grad?.Dispose();
            m.grad = c.grad is { } g ? g.to(ScalarType.Float32).DetachFromDisposeScope() : null;
            c.grad?.Dispose();
            c.grad = null;
        }
    }

    public void Dispose()
    {
        if (MixedPrecision) Compute.Dispose();
    }
}
