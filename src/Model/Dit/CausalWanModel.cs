using TorchSharp;
using static TorchSharp.torch;

namespace SelfForcing.Model.Dit;

/// <summary>
/// Block-causal Wan 2.1 DiT (reference <c>wan/modules/causal_model.py</c>), inference path: one chunk of latent
/// frames per call, attending to the stream's <see cref="KvCache"/>, with one timestep per latent frame.
/// </summary>
public sealed class CausalWanModel : WanTransformer
{
    /// <param name="init"><see cref="WeightInit.Uninitialised"/> when a checkpoint is loaded next (see <see cref="WanCheckpointLoader"/>).</param>
    public CausalWanModel(WanConfig config, Device? device = null, ScalarType dtype = ScalarType.Float32, WeightInit init = WeightInit.Default)
        : base(nameof(CausalWanModel), config, device, dtype, init) { }

    /// <summary>
    /// x [B, C, F, H, W] latents of this call; t [B, F] (or [B]) timesteps; context [B, ≤text_len, text_dim]
    /// (only read until the cache holds the prompt's cross-attention keys); currentStart = token offset of x's
    /// first frame in the stream (frame index × tokens per frame). Returns the flow prediction [B, C, F, H, W].
    /// </summary>
    public Tensor Forward(Tensor x, Tensor t, Tensor? context, KvCache cache, long currentStart)
    {
        ArgumentNullException.ThrowIfNull(cache);
        if (t.dim() == 1) t = t.unsqueeze(1).expand(t.shape[0], x.shape[2]);
        return Run(x, t, context, null, cache, currentStart);
    }

    /// <summary>Allocates a stream cache sized for this model (see <see cref="KvCache.Allocate"/>).</summary>
    public KvCache CreateCache(int batch, int capacityFrames, int latentHeight, int latentWidth, Device device, ScalarType dtype) =>
        KvCache.Allocate(Config, batch, capacityFrames, latentHeight, latentWidth, device, dtype);
}
