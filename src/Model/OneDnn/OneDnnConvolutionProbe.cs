using static TorchSharp.torch;

namespace SelfForcing.Model.OneDnn;

/// <summary>One probed convolution: its error against float64 and the error allowed for its dtype.</summary>
public sealed record ConvProbeResult(ConvProbeShape Shape, double RelativeError, double Tolerance)
{
    public bool Passed => RelativeError <= Tolerance; // NaN fails too
}

/// <summary>Every probed shape's error; <see cref="Passed"/> when each is within its tolerance.</summary>
public sealed record OneDnnProbeReport(IReadOnlyList<ConvProbeResult> Results, TimeSpan Elapsed)
{
    /// <summary>The result closest to (or furthest past) its tolerance.</summary>
    public ConvProbeResult? Worst => Results.MaxBy(r => double.IsNaN(r.RelativeError) ? double.PositiveInfinity : r.RelativeError / r.Tolerance);

    public bool Passed => Results.All(r => r.Passed);

    public string Summary => Worst is { } w
        ? $"worst relative error {w.RelativeError:G3} ({w.Shape.Name}, tolerance {w.Tolerance:G2}) over {Results.Count} conv shape(s) in {Elapsed.TotalMilliseconds:F0} ms"
        : "no conv shapes probed";
}

/// <summary>
/// Runs each convolution shape at a small size in its dtype, through whatever kernel libtorch picks (oneDNN while it
/// is enabled: batch 2 makes libtorch's heuristic choose it even for small inputs), and in float64 (never oneDNN) from
/// the same values, and compares them relative to the output's magnitude. Correct kernels agree to ~1e-6 in float32
/// and to the output rounding (~2e-3) in bfloat16; the wrong ones seen so far are off by 10–100% of the magnitude.
/// </summary>
public static class OneDnnConvolutionProbe
{
    /// <summary>Batch of the probe input; libtorch sends float32 convs with batch &gt; 1 to oneDNN whatever their size.</summary>
    public const long Batch = 2;

    /// <summary>Relative error allowed: ~100× what correct float32 kernels show, ~5× bfloat16's output rounding.</summary>
    public static double ToleranceFor(ScalarType dtype) => dtype == ScalarType.Float32 ? 1e-4 : 1e-2;

    /// <summary>max |candidate − reference| / max |reference|, in float64; NaN or ∞ in the candidate gives ∞.</summary>
    public static double RelativeError(Tensor candidate, Tensor reference)
    {
        using var scope = NewDisposeScope();
        if (!candidate.shape.SequenceEqual(reference.shape))
            throw new ArgumentException($"shapes differ: [{string.Join(", ", candidate.shape)}] vs [{string.Join(", ", reference.shape)}]");
        var c = candidate.to(ScalarType.Float64);
        var r = reference.to(ScalarType.Float64);
        if (!c.isfinite().all().item<bool>()) return double.PositiveInfinity;
        double scale = Math.Max(r.abs().max().item<double>(), double.Epsilon);
        return (c - r).abs().max().item<double>() / scale;
    }

    /// <summary>
    /// Probes <paramref name="shapes"/>. <paramref name="perturb"/> (tests only) replaces each fast output before the
    /// comparison, to show that a wrong result fails the probe.
    /// </summary>
    public static OneDnnProbeReport Run(IEnumerable<ConvProbeShape> shapes, Func<Tensor, Tensor>? perturb = null)
    {
        var sw = System.Diagnostics.Stopwatch.StartNew();
        var results = new List<ConvProbeResult>();
        using var noGrad = no_grad();
        ulong seed = 1;
        foreach (var shape in shapes)
        {
            using var scope = NewDisposeScope();
            var (fast, exact) = Convolve(shape, seed++);
            results.Add(new ConvProbeResult(shape, RelativeError(perturb is null ? fast : perturb(fast), exact), ToleranceFor(shape.DType)));
        }
        return new OneDnnProbeReport(results, sw.Elapsed);
    }

    /// <summary>One shape in its dtype (libtorch's kernel choice) and in float64, from the same seeded input and weights.</summary>
    public static (Tensor Fast, Tensor Float64) Convolve(ConvProbeShape shape, ulong seed, long[]? outputSize = null, long batch = Batch)
    {
        using var scope = NewDisposeScope();
        var g = new Generator(seed);
        // Output 4×6 (3-D: 2×4×6): small enough for milliseconds, more than one position per kernel tap. (With a single
        // output frame the wrong 3-D kernels seen so far happened to give the right result.)
        outputSize ??= shape.Dims == 2 ? [4, 6] : [2, 4, 6];
        var input = new long[shape.Dims];
        for (int d = 0; d < shape.Dims; d++)
            input[d] = (outputSize[d] - 1) * shape.Stride[d] + shape.Kernel[d] - 2 * shape.Padding[d];
        long fanIn = shape.InChannels * shape.Kernel.Aggregate(1L, (a, b) => a * b);
        var x = randn([batch, shape.InChannels, .. input], generator: g).to(shape.DType);
        var w = (randn([shape.OutChannels, shape.InChannels, .. shape.Kernel], generator: g) / Math.Sqrt(fanIn)).to(shape.DType);
        var b = (randn([shape.OutChannels], generator: g) * 0.1).to(shape.DType);
        Tensor Conv(Tensor xi, Tensor wi, Tensor bi) => shape.Dims == 2
            ? nn.functional.conv2d(xi, wi, bi, strides: shape.Stride, padding: shape.Padding)
            : nn.functional.conv3d(xi, wi, bi, strides: shape.Stride, padding: shape.Padding);
        // The reference starts from the same (rounded) values, so only the convolution itself is compared.
        var fast = Conv(x, w, b);
        var exact = Conv(x.to(ScalarType.Float64), w.to(ScalarType.Float64), b.to(ScalarType.Float64));
        return (fast.MoveToOuterDisposeScope(), exact.MoveToOuterDisposeScope());
    }
}
