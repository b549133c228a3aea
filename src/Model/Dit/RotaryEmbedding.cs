using TorchSharp;
using static TorchSharp.torch;

namespace SelfForcing.Model.Dit;

/// <summary>
/// Wan's 3-axis RoPE (frame, row, column) over adjacent channel pairs, computed in float64 as the reference
/// does. The angle table is generated, never loaded or cast: it is not part of the state dict.
/// </summary>
public sealed class RotaryEmbedding
{
    /// <summary>Rows of the reference's frequency table: positions on any axis must stay below this.</summary>
    public const int MaxPositions = 1024;

    private readonly int _temporalPairs;
    private readonly int _spatialPairs;
    private readonly double[] _omegaT;
    private readonly double[] _omegaS;

    public int Pairs => _temporalPairs + 2 * _spatialPairs;

    public RotaryEmbedding(int headDim)
    {
        if (headDim % 2 != 0) throw new ArgumentException($"head dim {headDim} must be even");
        int spatialDim = 2 * (headDim / 6);
        int temporalDim = headDim - 2 * spatialDim;
        _temporalPairs = temporalDim / 2;
        _spatialPairs = spatialDim / 2;
        _omegaT = Omegas(temporalDim);
        _omegaS = Omegas(spatialDim);
    }

    // rope_params: 1 / 10000^(arange(0, dim, 2) / dim), float64.
    private static double[] Omegas(int dim)
    {
        var w = new double[dim / 2];
        for (int j = 0; j < w.Length; j++) w[j] = 1.0 / Math.Pow(10000.0, (2.0 * j) / dim);
        return w;
    }

    /// <summary>cos and sin tables [F·H·W, 1, pairs] (float64) for a token grid whose first frame sits at <paramref name="startFrame"/>.</summary>
    public (Tensor Cos, Tensor Sin) Tables(long startFrame, long frames, long height, long width, Device device)
    {
        if (startFrame < 0 || startFrame + frames > MaxPositions || height > MaxPositions || width > MaxPositions)
            throw new ArgumentOutOfRangeException(nameof(startFrame),
                $"RoPE positions must stay below {MaxPositions}: frames [{startFrame}, {startFrame + frames}), grid {height}x{width}");
        long n = frames * height * width;
        int pairs = Pairs;
        var angles = new double[n * pairs];
        long i = 0;
        for (long f = 0; f < frames; f++)
        for (long y = 0; y < height; y++)
        for (long x = 0; x < width; x++, i++)
        {
            long o = i * pairs;
            // The reference multiplies position by omega in float64 (torch.outer), then takes cos/sin of that angle.
            for (int j = 0; j < _temporalPairs; j++) angles[o + j] = (startFrame + f) * _omegaT[j];
            for (int j = 0; j < _spatialPairs; j++) angles[o + _temporalPairs + j] = y * _omegaS[j];
            for (int j = 0; j < _spatialPairs; j++) angles[o + _temporalPairs + _spatialPairs + j] = x * _omegaS[j];
        }
        using var a = tensor(angles, [n, 1, pairs], ScalarType.Float64);
        using var onDevice = a.to(device);
        return (onDevice.cos(), onDevice.sin());
    }

    /// <summary>Rotates already-roped keys [B, L, N, d] <paramref name="frames"/> frames back on the frame axis (rows and columns untouched).</summary>
    public Tensor ShiftFrames(Tensor keys, long frames)
    {
        using var scope = NewDisposeScope();
        var angles = new double[Pairs];
        for (int j = 0; j < _temporalPairs; j++) angles[j] = -frames * _omegaT[j];
        using var a = tensor(angles, [1, 1, Pairs], ScalarType.Float64);
        using var onDevice = a.to(keys.device);
        return Apply(keys, onDevice.cos(), onDevice.sin()).MoveToOuterDisposeScope();
    }

    /// <summary>Rotates q or k [B, L, N, d] (L = tokens of the grid the tables were built for); result in x's dtype.</summary>
    public static Tensor Apply(Tensor x, Tensor cos, Tensor sin)
    {
        using var scope = NewDisposeScope();
        var shape = x.shape;
        var pairs = x.to(ScalarType.Float64).reshape(shape[0], shape[1], shape[2], shape[3] / 2, 2);
        var a = pairs.select(-1, 0);
        var b = pairs.select(-1, 1);
        var re = a * cos - b * sin;
        var im = a * sin + b * cos;
        return stack([re, im], -1).reshape(shape).to(x.dtype).MoveToOuterDisposeScope();
    }
}
