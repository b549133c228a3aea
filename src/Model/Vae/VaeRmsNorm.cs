using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace SelfForcing.Model.Vae;

/// <summary>
/// Reference <c>RMS_norm</c> (channel-first): <c>F.normalize(x, dim=1) · sqrt(C) · gamma</c>, in the activation
/// dtype. The reference bias is the constant 0 and has no checkpoint key.
/// </summary>
public sealed class VaeRmsNorm : nn.Module<Tensor, Tensor>
{
    private readonly double _scale;
#pragma warning disable IDE1006 // names mirror the state-dict keys
    public readonly Parameter gamma;
#pragma warning restore IDE1006

    /// <param name="images">true: gamma [C, 1, 1] for 4-D input; false: [C, 1, 1, 1] for 5-D input (reference flag).</param>
    public VaeRmsNorm(long dim, bool images, Device? device = null, ScalarType dtype = ScalarType.Float32) : base(nameof(VaeRmsNorm))
    {
        _scale = Math.Sqrt(dim);
        long[] shape = images ? [dim, 1, 1] : [dim, 1, 1, 1];
        gamma = new Parameter(ones(shape, dtype: dtype, device: device), requires_grad: false);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        // Scaled in place: the same two multiplications in the same order, without two more full-size temporaries.
        return nn.functional.normalize(x, p: 2.0, dim: 1, eps: 1e-12).mul_(_scale).mul_(gamma);
    }
}
