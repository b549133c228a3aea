using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace SelfForcing.Model.Dit;

/// <summary>Output head: LayerNorm, modulation by e (the time embedding itself, not e0), Linear(D → patch·out_dim).</summary>
public sealed class Head : nn.Module<Tensor, Tensor>
{
#pragma warning disable IDE1006
    public readonly WanLayerNorm norm;
    public readonly Linear head;
    public readonly Parameter modulation;
#pragma warning restore IDE1006

    public Head(WanConfig c, Device? device, ScalarType dtype, WeightInit init = WeightInit.Default) : base(nameof(Head))
    {
        norm = new WanLayerNorm(c.Dim, c.Eps, false, device, dtype);
        head = DitLayers.Linear(c.Dim, c.PatchElements, device, dtype, init);
        modulation = new Parameter(zeros([1, 2, c.Dim], dtype, device));
        RegisterComponents();
    }

    public override Tensor forward(Tensor x) => throw new NotSupportedException("call Forward with the time embedding");

    /// <param name="x">[B, L, D].</param>
    /// <param name="e">[B, G, D] time embedding per group (G = 1 bidirectional, frames for causal).</param>
    /// <returns>[B, G, L/G, patch·out_dim].</returns>
    public Tensor Forward(Tensor x, Tensor e)
    {
        using var scope = NewDisposeScope();
        long b = x.shape[0], l = x.shape[1], dim = x.shape[2], groups = e.shape[1];
        var m = (modulation.unsqueeze(1) + e.unsqueeze(2)).chunk(2, 2); // each [B, G, 1, D]
        var h = norm.forward(x).view(b, groups, l / groups, dim) * (1 + m[1]) + m[0];
        return head.forward(h).MoveToOuterDisposeScope();
    }
}
