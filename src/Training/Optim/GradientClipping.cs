using TorchSharp;
using static TorchSharp.torch;

namespace SelfForcing.Training.Optim;

/// <summary>torch 1.13 <c>clip_grad_norm_</c> with the 2-norm, as the reference trainer calls it (max norm 10).</summary>
public static class GradientClipping
{
    /// <summary>
    /// Scales every set gradient in place so that their global 2-norm is at most <paramref name="maxNorm"/>; returns the
    /// norm before clipping. As in PyTorch the factor is <c>clamp(max_norm · 1/(total + 1e-6), max = 1)</c>, computed in
    /// the gradients' dtype (Python's <c>float / tensor</c> is <c>reciprocal() · float</c>), and applied even when it is 1.
    /// </summary>
    public static double ClipGradNorm(IEnumerable<Tensor> parameters, double maxNorm)
    {
        if (!(maxNorm > 0)) throw new ArgumentOutOfRangeException(nameof(maxNorm), "max norm must be positive");
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        var grads = parameters.Select(p => p.grad).Where(g => g is not null).Select(g => g!).ToList();
        if (grads.Count == 0) return 0.0;
        var total = stack(grads.Select(g => g.norm(2.0f)).ToArray()).norm(2.0f);
        var coef = (total + 1e-6).reciprocal().mul(maxNorm).clamp_max(1.0);
        foreach (var g in grads) g.mul_(coef);
        return total.to(ScalarType.Float64).item<double>();
    }
}
