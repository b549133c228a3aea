using TorchSharp;
using static TorchSharp.torch;

namespace SelfForcing.Model.Text;

/// <summary>
/// T5 self-attention (keys <c>q/k/v/o.weight</c>, no biases). Scores are NOT scaled by 1/sqrt(head_dim), the
/// additive bias carries the relative positions and the key mask (dtype-min fill), and the softmax runs in fp32
/// and is cast back. Written as explicit matmuls rather than scaled_dot_product_attention so that a bf16 run
/// keeps the reference's fp32 softmax and dtype-min masking exactly.
/// </summary>
public sealed class T5Attention : nn.Module<Tensor, Tensor, Tensor, Tensor>
{
    private readonly T5Linear q;
    private readonly T5Linear k;
    private readonly T5Linear v;
    private readonly T5Linear o;
    private readonly int _numHeads;
    private readonly int _headDim;

    public T5Attention(string name, int dim, int dimAttn, int numHeads, Device device, ScalarType dtype) : base(name)
    {
        _numHeads = numHeads;
        _headDim = dimAttn / numHeads;
        q = new T5Linear("q", dim, dimAttn, device, dtype);
        k = new T5Linear("k", dim, dimAttn, device, dtype);
        v = new T5Linear("v", dim, dimAttn, device, dtype);
        o = new T5Linear("o", dimAttn, dim, device, dtype);
        RegisterComponents();
    }

    /// <param name="x">[B, L, dim]</param>
    /// <param name="mask">[B, L] (nonzero = real key)</param>
    /// <param name="posBias">[1, heads, L, L]</param>
    public override Tensor forward(Tensor x, Tensor mask, Tensor posBias)
    {
        using var scope = NewDisposeScope();
        long b = x.shape[0], l = x.shape[1];
        if (mask.ndim != 2 || mask.shape[0] != b || mask.shape[1] != l)
            throw new ArgumentException($"Attention mask must be [{b}, {l}], got [{string.Join(", ", mask.shape)}].");
        var qh = q.forward(x).view(b, l, _numHeads, _headDim).transpose(1, 2);
        var kh = k.forward(x).view(b, l, _numHeads, _headDim).transpose(1, 2);
        var vh = v.forward(x).view(b, l, _numHeads, _headDim).transpose(1, 2);

        var bias = zeros(new[] { b, (long)_numHeads, l, l }, dtype: x.dtype, device: x.device) + posBias;
        bias = bias.masked_fill(mask.view(b, 1, 1, l).eq(0), MinValue(x.dtype));
        var scores = qh.matmul(kh.transpose(-1, -2)) + bias;
        var probs = scores.to(ScalarType.Float32).softmax(-1).to(scores.dtype);
        var outp = probs.matmul(vh).transpose(1, 2).reshape(b, l, (long)_numHeads * _headDim);
        return o.forward(outp).MoveToOuterDisposeScope();
    }

    /// <summary><c>torch.finfo(dtype).min</c>: the reference masks with the most negative finite value, not -inf.</summary>
    internal static Scalar MinValue(ScalarType dtype) => dtype switch
    {
        ScalarType.Float32 => float.MinValue,
        ScalarType.Float64 => double.MinValue,
        ScalarType.Float16 => -65504.0,
        ScalarType.BFloat16 => -3.3895313892515355e38,
        _ => throw new NotSupportedException($"T5 attention does not support dtype {dtype}."),
    };
}
