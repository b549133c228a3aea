using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace SelfForcing.Model.Text;

/// <summary>
/// <c>nn.Linear(in, out, bias=False)</c>. The weight is allocated uninitialised: every value comes from the
/// checkpoint, and random-initialising 5.7B parameters only to overwrite them would cost a minute of CPU.
/// </summary>
public sealed class T5Linear : nn.Module<Tensor, Tensor>
{
    private readonly Parameter weight;

    public T5Linear(string name, long inFeatures, long outFeatures, Device device, ScalarType dtype) : base(name)
    {
        weight = new Parameter(empty(new[] { outFeatures, inFeatures }, dtype: dtype, device: device), requires_grad: false);
        // Parameters live as long as the module, not as long as a dispose scope the module happens to be built in.
        weight.DetachFromDisposeScope();
        RegisterComponents();
    }

    public Parameter Weight => weight;

    public override Tensor forward(Tensor x) => nn.functional.linear(x, weight);
}
