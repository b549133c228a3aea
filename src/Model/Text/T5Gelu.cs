using TorchSharp;
using static TorchSharp.torch;

namespace SelfForcing.Model.Text;

/// <summary>The reference's own tanh-approximated GELU, term for term (same op order for parity).</summary>
public sealed class T5Gelu : nn.Module<Tensor, Tensor>
{
    private static readonly double Coefficient = Math.Sqrt(2.0 / Math.PI);

    public T5Gelu() : base("gelu") { }

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var inner = (x + x.pow(3.0) * 0.044715) * Coefficient;
        return (x * 0.5 * (inner.tanh() + 1.0)).MoveToOuterDisposeScope();
    }
}
