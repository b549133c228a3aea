using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace SelfForcing.Model.Dit;

/// <summary>
/// Self-attention of a Wan block: RMS-normed q/k over the full dim (before the head split), 3-axis RoPE, softmax
/// attention. Bidirectional over the call's tokens, or — with a <see cref="KvCache"/> — over the stream's cached
/// keys (the call's own keys are written first, so a chunk attends to itself fully).
/// </summary>
public sealed class WanSelfAttention : nn.Module<Tensor, Tensor>
{
    private readonly int _heads;
#pragma warning disable IDE1006
    public readonly Linear q, k, v, o;
    public readonly nn.Module<Tensor, Tensor> norm_q, norm_k;
#pragma warning restore IDE1006

    public WanSelfAttention(WanConfig c, Device? device, ScalarType dtype) : base(nameof(WanSelfAttention))
    {
        _heads = c.NumHeads;
        q = nn.Linear(c.Dim, c.Dim, true, device, dtype);
        k = nn.Linear(c.Dim, c.Dim, true, device, dtype);
        v = nn.Linear(c.Dim, c.Dim, true, device, dtype);
        o = nn.Linear(c.Dim, c.Dim, true, device, dtype);
        norm_q = c.QkNorm ? new WanRmsNorm(c.Dim, c.Eps, device, dtype) : nn.Identity();
        norm_k = c.QkNorm ? new WanRmsNorm(c.Dim, c.Eps, device, dtype) : nn.Identity();
        RegisterComponents();
    }

    public override Tensor forward(Tensor x) => throw new NotSupportedException("call Forward with RoPE tables");

    /// <param name="x">[B, L, D] modulated hidden states.</param>
    /// <param name="cache">null for bidirectional attention over x's tokens.</param>
    public Tensor Forward(Tensor x, Tensor ropeCos, Tensor ropeSin, KvCache? cache = null, int layer = 0, long currentStart = 0)
    {
        using var scope = NewDisposeScope();
        long b = x.shape[0], l = x.shape[1], dim = x.shape[2];
        long d = dim / _heads;
        var qh = RotaryEmbedding.Apply(norm_q.forward(q.forward(x)).view(b, l, _heads, d), ropeCos, ropeSin);
        var kh = RotaryEmbedding.Apply(norm_k.forward(k.forward(x)).view(b, l, _heads, d), ropeCos, ropeSin);
        var vh = v.forward(x).view(b, l, _heads, d);
        if (cache is not null)
            (kh, vh) = cache.WriteAndRead(layer, currentStart, kh, vh);
        var attn = nn.functional.scaled_dot_product_attention(qh.transpose(1, 2), kh.transpose(1, 2), vh.transpose(1, 2));
        return o.forward(attn.transpose(1, 2).reshape(b, l, dim)).MoveToOuterDisposeScope();
    }
}
