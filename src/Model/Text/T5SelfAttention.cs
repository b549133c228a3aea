using TorchSharp;
using static TorchSharp.torch;

namespace SelfForcing.Model.Text;

/// <summary>
/// One encoder layer (reference class <c>T5SelfAttention</c>): pre-norm attention and pre-norm gated FFN with
/// residuals, each followed by the reference's fp16 clamp. Registration order matches the state dict:
/// norm1, attn, norm2, ffn, pos_embedding.
/// </summary>
public sealed class T5SelfAttention : nn.Module<Tensor, Tensor, Tensor>
{
    private readonly T5LayerNorm norm1;
    private readonly T5Attention attn;
    private readonly T5LayerNorm norm2;
    private readonly T5FeedForward ffn;
    private readonly T5RelativeEmbedding pos_embedding;

    public T5SelfAttention(string name, T5EncoderConfig c, Device device, ScalarType dtype) : base(name)
    {
        norm1 = new T5LayerNorm("norm1", c.Dim, c.Eps, device, dtype);
        attn = new T5Attention("attn", c.Dim, c.DimAttn, c.NumHeads, device, dtype);
        norm2 = new T5LayerNorm("norm2", c.Dim, c.Eps, device, dtype);
        ffn = new T5FeedForward("ffn", c.Dim, c.DimFfn, device, dtype);
        pos_embedding = new T5RelativeEmbedding("pos_embedding", c.NumBuckets, c.NumHeads, c.MaxDist, device, dtype);
        RegisterComponents();
    }

    /// <summary>The layer's relative-position bias [1, heads, L, L] (exposed for parity checks).</summary>
    public Tensor PositionBias(long length) => pos_embedding.forward(length, length);

    public override Tensor forward(Tensor x, Tensor mask)
    {
        using var scope = NewDisposeScope();
        var e = PositionBias(x.shape[1]);
        x = Fp16Clamp(x + attn.forward(norm1.forward(x), mask, e));
        x = Fp16Clamp(x + ffn.forward(norm2.forward(x)));
        return x.MoveToOuterDisposeScope();
    }

    /// <summary>fp16 only: when an inf appeared, clamp to ±(65504 - 1000) as the reference does.</summary>
    private static Tensor Fp16Clamp(Tensor x)
    {
        if (x.dtype != ScalarType.Float16 || !x.isinf().any().item<bool>()) return x;
        const double limit = 65504.0 - 1000.0;
        return x.clamp(-limit, limit);
    }
}
