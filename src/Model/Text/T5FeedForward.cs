using TorchSharp;
using static TorchSharp.torch;

namespace SelfForcing.Model.Text;

/// <summary>
/// Gated-GELU FFN: <c>fc2(fc1(x) * gelu_tanh(gate.0(x)))</c>. <c>gate</c> is a list so the key reads
/// <c>gate.0.weight</c> like the reference's <c>nn.Sequential(Linear, GELU)</c> (the GELU holds no parameters).
/// </summary>
public sealed class T5FeedForward : nn.Module<Tensor, Tensor>
{
    private readonly nn.Module<Tensor, Tensor> gate;
    private readonly T5Linear fc1;
    private readonly T5Linear fc2;

    public T5FeedForward(string name, int dim, int dimFfn, Device device, ScalarType dtype) : base(name)
    {
        gate = nn.Sequential(("0", (nn.Module<Tensor, Tensor>)new T5Linear("0", dim, dimFfn, device, dtype)), ("1", new T5Gelu()));
        fc1 = new T5Linear("fc1", dim, dimFfn, device, dtype);
        fc2 = new T5Linear("fc2", dimFfn, dim, device, dtype);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        return fc2.forward(fc1.forward(x) * gate.forward(x)).MoveToOuterDisposeScope();
    }
}
