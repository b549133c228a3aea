using TorchSharp;
using static TorchSharp.torch;

namespace SelfForcing.Model.Vae;

/// <summary>Reference <c>Upsample</c>: nearest 2× on [N, C, H, W], computed in float32 (the reference's bf16 workaround) and cast back.</summary>
public sealed class NearestUpsample2x : nn.Module<Tensor, Tensor>
{
    public NearestUpsample2x() : base(nameof(NearestUpsample2x)) { }

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var y = nn.functional.interpolate(x.to(ScalarType.Float32), scale_factor: [2.0, 2.0], mode: InterpolationMode.Nearest);
        return y.to(x.dtype).MoveToOuterDisposeScope();
    }
}
