using static TorchSharp.torch;

namespace SelfForcing.Model.Tests;

/// <summary>
/// Comparisons of two computations that may run different libtorch kernels (batch size, chunk length and CPU pick
/// oneDNN, NNPACK or im2col+GEMM, each summing in its own order): errors are measured relative to the magnitude.
/// </summary>
public static class TensorAssert
{
    /// <summary>What float32 kernels that sum in different orders may differ by, relative to the output's magnitude (measured ~3e-6).</summary>
    public const double KernelTolerance = 1e-4;

    /// <summary>max |actual − expected| / max |expected|, in float64.</summary>
    public static double RelativeError(Tensor expected, Tensor actual)
    {
        Assert.Equal(expected.shape, actual.shape);
        using var scope = NewDisposeScope();
        var e = expected.to(ScalarType.Float64);
        double scale = e.abs().max().item<double>();
        Assert.True(scale > 0, "the expected tensor is all zeros: nothing to compare against");
        return (actual.to(ScalarType.Float64) - e).abs().max().item<double>() / scale;
    }

    public static void Close(Tensor expected, Tensor actual, string what, double tolerance = KernelTolerance)
    {
        double err = RelativeError(expected, actual);
        Assert.True(err <= tolerance, $"{what}: relative error {err:G3} exceeds {tolerance:G2}");
    }
}
