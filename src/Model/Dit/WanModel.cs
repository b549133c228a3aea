using TorchSharp;
using static TorchSharp.torch;

namespace SelfForcing.Model.Dit;

/// <summary>Bidirectional Wan 2.1 DiT (reference <c>wan/modules/model.py</c> WanModel), used as critic/teacher.</summary>
public sealed class WanModel : WanTransformer
{
    public WanModel(WanConfig config, Device? device = null, ScalarType dtype = ScalarType.Float32, WeightInit init = WeightInit.Default)
        : base(nameof(WanModel), config, device, dtype, init) { }

    /// <summary>x [B, C, F, H, W], t [B], context [B, ≤text_len, text_dim] → flow [B, C, F, H, W].</summary>
    public Tensor Forward(Tensor x, Tensor t, Tensor context, long[]? contextLens = null) =>
        Run(x, t, context, contextLens, null, 0);
}
