using TorchSharp;
using static TorchSharp.torch;

namespace SelfForcing.Model.Dit;

/// <summary>Wan's timestep sinusoid: [cos | sin] of t·10000^(−k/half), in float64.</summary>
public static class SinusoidalEmbedding
{
    public static Tensor Embed(int dim, Tensor position)
    {
        using var scope = NewDisposeScope();
        int half = dim / 2;
        var pos = position.to(ScalarType.Float64);
        var freqs = pow(10000.0, -arange(half, ScalarType.Float64, pos.device).div(half));
        var s = outer(pos, freqs);
        return cat([s.cos(), s.sin()], 1).MoveToOuterDisposeScope();
    }
}
