using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace SelfForcing.Model.Dit;

/// <summary>
/// The q/k/v/o projections and q/k RMSNorms shared by self- and cross-attention (in the reference,
/// WanT2VCrossAttention subclasses WanSelfAttention for the same reason), and the softmax attention over heads.
/// </summary>
public abstract class WanAttentionProjections : nn.Module<Tensor, Tensor>
{
#pragma warning disable IDE1006 // names mirror the state-dict keys
    public readonly Linear q, k, v, o;
    public readonly nn.Module<Tensor, Tensor> norm_q, norm_k;
#pragma warning restore IDE1006

    protected int Heads { get; }

    protected WanAttentionProjections(string name, WanConfig c, Device? device, ScalarType dtype, WeightInit init) : base(name)
    {
        Heads = c.NumHeads;
        q = DitLayers.Linear(c.Dim, c.Dim, device, dtype, init);
        k = DitLayers.Linear(c.Dim, c.Dim, device, dtype, init);
        v = DitLayers.Linear(c.Dim, c.Dim, device, dtype, init);
        o = DitLayers.Linear(c.Dim, c.Dim, device, dtype, init);
        norm_q = c.QkNorm ? new WanRmsNorm(c.Dim, c.Eps, device, dtype) : nn.Identity();
        norm_k = c.QkNorm ? new WanRmsNorm(c.Dim, c.Eps, device, dtype) : nn.Identity();
    }

    public override Tensor forward(Tensor x) => throw new NotSupportedException($"call {GetType().Name}.Forward");

    /// <summary>[B, L, D] → [B, L, N, d] (the head split is a plain reshape).</summary>
    protected Tensor SplitHeads(Tensor x) => x.view(x.shape[0], x.shape[1], Heads, x.shape[2] / Heads);

    /// <summary>
    /// Softmax attention of q [B, Lq, N, d] over k, v [B, Lk, N, d], then the output projection → [B, Lq, D].
    /// <paramref name="mask"/> [Lq, Lk] (true = may attend) restricts which keys each query sees.
    /// </summary>
    protected Tensor AttendAndProject(Tensor qh, Tensor kh, Tensor vh, Tensor? mask = null)
    {
        var attn = nn.functional.scaled_dot_product_attention(qh.transpose(1, 2), kh.transpose(1, 2), vh.transpose(1, 2), mask);
        return o.forward(attn.transpose(1, 2).flatten(2));
    }
}
