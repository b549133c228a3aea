using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace SelfForcing.Model.Text;

/// <summary>
/// T5 RMS norm: variance in fp32, no mean subtraction, no bias. As in the reference the normalised value is
/// cast to the weight dtype only when the weight is half precision (fp32 weights with bf16 input give fp32).
/// </summary>
public sealed class T5LayerNorm : nn.Module<Tensor, Tensor>
{
    private readonly Parameter weight;
    private readonly double _eps;

    public T5LayerNorm(string name, long dim, double eps, Device device, ScalarType dtype) : base(name)
    {
        _eps = eps;
        weight = new Parameter(ones(new[] { dim }, dtype: dtype, device: device), requires_grad: false);
        // Parameters live as long as the module, not as long as a dispose scope the module happens to be built in.
        weight.DetachFromDisposeScope();
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var variance = x.to(ScalarType.Float32).pow(2).mean(new long[] { -1 }, keepdim: true);
        var y = x * (variance + _eps).rsqrt();
        if (weight.dtype is ScalarType.Float16 or ScalarType.BFloat16) y = y.to(weight.dtype);
        return (weight * y).MoveToOuterDisposeScope();
    }
}
