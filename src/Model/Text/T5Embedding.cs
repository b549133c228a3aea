using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace SelfForcing.Model.Text;

/// <summary><c>nn.Embedding(rows, dim)</c> with an uninitialised table (filled by the checkpoint).</summary>
public sealed class T5Embedding : nn.Module<Tensor, Tensor>
{
    private readonly Parameter weight;

    public T5Embedding(string name, long rows, long dim, Device device, ScalarType dtype) : base(name)
    {
        weight = new Parameter(empty(new[] { rows, dim }, dtype: dtype, device: device), requires_grad: false);
        // Parameters live as long as the module, not as long as a dispose scope the module happens to be built in.
        weight.DetachFromDisposeScope();
        RegisterComponents();
    }

    public Parameter Weight => weight;

    public override Tensor forward(Tensor ids)
    {
        if (ids.dtype != ScalarType.Int64) throw new ArgumentException($"Embedding ids must be int64, got {ids.dtype}.");
        var shape = ids.shape.Append(weight.shape[1]).ToArray();
        return weight.index_select(0, ids.reshape(-1)).reshape(shape);
    }
}
