using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace SelfForcing.Model.Dit;

/// <summary>Text cross-attention: no RoPE, no mask — every text row, zero padding included, is attended.</summary>
public sealed class WanT2VCrossAttention : nn.Module<Tensor, Tensor>
{
    private readonly int _heads;
#pragma warning disable IDE1006
    public readonly Linear q, k, v, o;
    public readonly nn.Module<Tensor, Tensor> norm_q, norm_k;
#pragma warning restore IDE1006

    public WanT2VCrossAttention(WanConfig c, Device? device, ScalarType dtype) : base(nameof(WanT2VCrossAttention))
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

    public override Tensor forward(Tensor x) => throw new NotSupportedException("call Forward with the text context");

    /// <summary>Keys and values [B, text_len, N, d] of the embedded text.</summary>
    public (Tensor K, Tensor V) KeysValues(Tensor context)
    {
        long b = context.shape[0], l = context.shape[1], dim = context.shape[2];
        return (norm_k.forward(k.forward(context)).view(b, l, _heads, dim / _heads), v.forward(context).view(b, l, _heads, dim / _heads));
    }

    /// <param name="x">[B, L, D] (already norm3'd).</param>
    /// <param name="context">[B, text_len, D] embedded text; ignored when the cache already holds this layer's keys.</param>
    public Tensor Forward(Tensor x, Tensor? context, KvCache? cache = null, int layer = 0)
    {
        using var scope = NewDisposeScope();
        long b = x.shape[0], l = x.shape[1], dim = x.shape[2];
        Tensor kh, vh;
        if (cache is not null && cache.CrossAttentionReady(layer))
            (kh, vh) = cache.CrossAttention(layer);
        else
        {
            if (context is null) throw new ArgumentNullException(nameof(context), "text context is required until the cross-attention cache is filled");
            (kh, vh) = KeysValues(context);
            cache?.SetCrossAttention(layer, kh, vh);
        }
        var qh = norm_q.forward(q.forward(x)).view(b, l, _heads, dim / _heads);
        var attn = nn.functional.scaled_dot_product_attention(qh.transpose(1, 2), kh.transpose(1, 2), vh.transpose(1, 2));
        return o.forward(attn.transpose(1, 2).reshape(b, l, dim)).MoveToOuterDisposeScope();
    }
}
