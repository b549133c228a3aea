using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace SelfForcing.Model.Dit;

/// <summary>LayerNorm over the last dim, optionally affine; statistics in float32, output in the input dtype.</summary>
public sealed class WanLayerNorm : nn.Module<Tensor, Tensor>
{
    private readonly long _dim;
    private readonly double _eps;
#pragma warning disable IDE1006
    public readonly Parameter? weight;
    public readonly Parameter? bias;
#pragma warning restore IDE1006

    public WanLayerNorm(long dim, double eps, bool elementwiseAffine, Device? device = null, ScalarType dtype = ScalarType.Float32)
        : base(nameof(WanLayerNorm))
    {
        _dim = dim; _eps = eps;
        if (elementwiseAffine)
        {
            weight = new Parameter(ones(dim, dtype: dtype, device: device));
            bias = new Parameter(zeros(dim, dtype: dtype, device: device));
        }
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var x32 = x.to(ScalarType.Float32);
        var w = weight?.to(ScalarType.Float32);
        var b = bias?.to(ScalarType.Float32);
        return nn.functional.layer_norm(x32, [_dim], w, b, _eps).to(x.dtype).MoveToOuterDisposeScope();
    }
}
