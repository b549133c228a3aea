using TorchSharp;
using static TorchSharp.torch;

namespace SelfForcing.Model.Text;

/// <summary>
/// Bidirectional T5 relative-position bias (one table per layer in UMT5). Key names: <c>embedding.weight</c>
/// [num_buckets, num_heads].
/// </summary>
public sealed class T5RelativeEmbedding : nn.Module<long, long, Tensor>
{
    private readonly T5Embedding embedding;
    private readonly int _numBuckets;
    private readonly int _maxDist;

    public T5RelativeEmbedding(string name, int numBuckets, int numHeads, int maxDist, Device device, ScalarType dtype)
        : base(name)
    {
        _numBuckets = numBuckets;
        _maxDist = maxDist;
        embedding = new T5Embedding("embedding", numBuckets, numHeads, device, dtype);
        RegisterComponents();
    }

    /// <summary>Bias [1, heads, lq, lk] for query/key lengths.</summary>
    public override Tensor forward(long lq, long lk)
    {
        using var scope = NewDisposeScope();
        var buckets = Buckets(lq, lk, _numBuckets, _maxDist).to(embedding.Weight.device);
        var bias = embedding.forward(buckets).permute(2, 0, 1).unsqueeze(0).contiguous();
        return bias.MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Bucket of (key - query) [lq, lk] int64, computed with the reference's float32 ops on the CPU: the
    /// truncation of log ratios at exact powers (|rel| = 16, 32, 64) depends on float32 rounding, and running
    /// the same libtorch CPU kernels reproduces the reference's table bit for bit.
    /// </summary>
    public static Tensor Buckets(long lq, long lk, int numBuckets, int maxDist)
    {
        using var scope = NewDisposeScope();
        var relPos = arange(lk, dtype: ScalarType.Int64).unsqueeze(0) - arange(lq, dtype: ScalarType.Int64).unsqueeze(1);
        int half = numBuckets / 2;
        var buckets = relPos.gt(0).to(ScalarType.Int64) * half;
        relPos = relPos.abs();
        int maxExact = half / 2;
        // log(0) = -inf for |rel| = 0 is discarded by the where below, exactly as in the reference.
        var large = (log(relPos.to(ScalarType.Float32) / maxExact) / Math.Log((double)maxDist / maxExact) * (half - maxExact))
            .to(ScalarType.Int64) + maxExact;
        large = minimum(large, full_like(large, half - 1));
        buckets = buckets + where(relPos.lt(maxExact), relPos, large);
        return buckets.MoveToOuterDisposeScope();
    }
}
