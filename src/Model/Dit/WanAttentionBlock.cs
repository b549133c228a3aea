using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace SelfForcing.Model.Dit;

/// <summary>
/// One transformer block, shared by the bidirectional and causal models. The modulation e0 is [B, G, 6, D]:
/// G = 1 for the bidirectional model (one timestep per sample) or G = frames for the causal model (one per
/// latent frame), and the tokens are viewed as [B, G, L/G, D] so each group gets its own shift/scale/gate rows.
/// </summary>
public sealed class WanAttentionBlock : nn.Module<Tensor, Tensor>
{
#pragma warning disable IDE1006
    // Declared in the reference's registration order: RegisterComponents walks the fields in order, so
    // named_parameters() lists them as PyTorch does (the optimiser's flat state and the trainer's logs rely on it).
    public readonly WanLayerNorm norm1;
    public readonly WanSelfAttention self_attn;
    public readonly nn.Module<Tensor, Tensor> norm3;
    public readonly WanT2VCrossAttention cross_attn;
    public readonly WanLayerNorm norm2;
    public readonly Sequential ffn;
    public readonly Parameter modulation;
#pragma warning restore IDE1006

    public WanAttentionBlock(WanConfig c, Device? device, ScalarType dtype, WeightInit init = WeightInit.Default) : base(nameof(WanAttentionBlock))
    {
        norm1 = new WanLayerNorm(c.Dim, c.Eps, false, device, dtype);
        self_attn = new WanSelfAttention(c, device, dtype, init);
        norm3 = c.CrossAttnNorm ? new WanLayerNorm(c.Dim, c.Eps, true, device, dtype) : nn.Identity();
        cross_attn = new WanT2VCrossAttention(c, device, dtype, init);
        norm2 = new WanLayerNorm(c.Dim, c.Eps, false, device, dtype);
        ffn = nn.Sequential(
            ("0", DitLayers.Linear(c.Dim, c.FfnDim, device, dtype, init)),
            ("1", nn.GELU(GELU.Approximate.tanh)),
            ("2", DitLayers.Linear(c.FfnDim, c.Dim, device, dtype, init)));
        modulation = new Parameter(zeros([1, 6, c.Dim], dtype, device));
        RegisterComponents();
    }

    public override Tensor forward(Tensor x) => throw new NotSupportedException("call Forward with modulation and context");

    public Tensor Forward(Tensor x, Tensor e0, Tensor? context, Tensor ropeCos, Tensor ropeSin, KvCache? cache = null, int layer = 0,
        long currentStart = 0, Tensor? selfAttentionMask = null) =>
        Forward(x, e0, context, ropeCos, ropeSin, cache, layer, currentStart, selfAttentionMask, null);

    /// <param name="prefix">the earlier keys/values self-attention attends to instead of the cache's (then
    /// <paramref name="cache"/>, if given, serves only the cross-attention keys it already holds).</param>
    internal Tensor Forward(Tensor x, Tensor e0, Tensor? context, Tensor ropeCos, Tensor ropeSin, KvCache? cache, int layer,
        long currentStart, Tensor? selfAttentionMask, AttentionPrefix? prefix)
    {
        using var scope = NewDisposeScope();
        long b = x.shape[0], l = x.shape[1], dim = x.shape[2];
        long groups = e0.shape[1];
        var m = (modulation.unsqueeze(1) + e0).chunk(6, 2); // each [B, G, 1, D]
        Tensor Grouped(Tensor t) => t.view(b, groups, l / groups, dim);
        Tensor Flat(Tensor t) => t.view(b, l, dim);

        var h = Flat(Grouped(norm1.forward(x)) * (1 + m[1]) + m[0]);
        var y = self_attn.Forward(h, ropeCos, ropeSin, prefix is null ? cache : null, layer, currentStart, selfAttentionMask, prefix);
        x = x + Flat(Grouped(y) * m[2]);
        x = x + cross_attn.Forward(norm3.forward(x), context, cache, layer);
        h = Flat(Grouped(norm2.forward(x)) * (1 + m[4]) + m[3]);
        y = ffn.forward(h);
        x = x + Flat(Grouped(y) * m[5]);
        return x.MoveToOuterDisposeScope();
    }
}
