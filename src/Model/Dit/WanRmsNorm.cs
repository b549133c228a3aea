using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace SelfForcing.Model.Dit;

/// <summary>RMSNorm over the last dim; statistics in float32, the affine multiply in the input dtype (reference WanRMSNorm).</summary>
public sealed class WanRmsNorm : nn.Module<Tensor, Tensor>
{
    private readonly double _eps;
#pragma warning disable IDE1006 // names mirror the state-dict keys
    public readonly Parameter weight;
#pragma warning restore IDE1006

    public WanRmsNorm(long dim, double eps, Device? device = null, ScalarType dtype = ScalarType.Float32) : base(nameof(WanRmsNorm))
    {
        _eps = eps;
        weight = new Parameter(ones(dim, dtype: dtype, device: device));
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var x32 = x.to(ScalarType.Float32);
        var normed = (x32 * (x32.pow(2).mean([-1L], keepdim: true) + _eps).rsqrt()).to(x.dtype);
        return (normed * weight).MoveToOuterDisposeScope();
    }
}
