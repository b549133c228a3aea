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
        // Scalars held in locals: an implicit temporary can be finalised by the GC while libtorch still reads it
        // (seen as "Unknown scalar type" under load).
        using Scalar halfScalar = half;
        var freqs = pow(10000.0, -arange(halfScalar, ScalarType.Float64, pos.device).div(halfScalar));
        var s = outer(pos, freqs);
        return cat([s.cos(), s.sin()], 1).MoveToOuterDisposeScope();
    }
}
