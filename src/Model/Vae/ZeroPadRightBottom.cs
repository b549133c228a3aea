using TorchSharp;
using static TorchSharp.torch;

namespace SelfForcing.Model.Vae;

/// <summary>Reference <c>nn.ZeroPad2d((0, 1, 0, 1))</c> in front of the stride-2 down-sampling conv.</summary>
public sealed class ZeroPadRightBottom : nn.Module<Tensor, Tensor>
{
    public ZeroPadRightBottom() : base(nameof(ZeroPadRightBottom)) { }

    public override Tensor forward(Tensor x) => nn.functional.pad(x, [0, 1, 0, 1]);
}
