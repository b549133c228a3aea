using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace SelfForcing.Model.Vae;

/// <summary>
/// Reference <c>AttentionBlock</c>: single-head self-attention over the H·W positions of each frame separately
/// (no temporal mixing, no cache), with a residual connection.
/// </summary>
public sealed class VaeAttentionBlock : nn.Module<Tensor, Tensor>
{
#pragma warning disable IDE1006 // names mirror the state-dict keys
    public readonly VaeRmsNorm norm;
    public readonly Conv2d to_qkv;
    public readonly Conv2d proj;
#pragma warning restore IDE1006

    public long Dim { get; }

    public VaeAttentionBlock(long dim, Device? device = null, ScalarType dtype = ScalarType.Float32) : base(nameof(VaeAttentionBlock))
    {
        Dim = dim;
        norm = new VaeRmsNorm(dim, images: true, device, dtype);
        to_qkv = nn.Conv2d(dim, dim * 3, 1, device: device, dtype: dtype);
        proj = nn.Conv2d(dim, dim, 1, device: device, dtype: dtype);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        long b = x.shape[0], c = x.shape[1], t = x.shape[2], h = x.shape[3], w = x.shape[4];
        var frames = x.permute(0, 2, 1, 3, 4).reshape(b * t, c, h, w);
        frames = norm.forward(frames);
        var qkv = to_qkv.forward(frames).reshape(b * t, 1, c * 3, h * w).permute(0, 1, 3, 2).contiguous().chunk(3, -1);
        var o = nn.functional.scaled_dot_product_attention(qkv[0], qkv[1], qkv[2]);
        o = o.squeeze(1).permute(0, 2, 1).reshape(b * t, c, h, w);
        o = proj.forward(o);
        o = o.reshape(b, t, c, h, w).permute(0, 2, 1, 3, 4);
        return (o + x).MoveToOuterDisposeScope();
    }
}
