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

    /// <summary>
    /// Cache-free forward over a whole clip (reference <c>_forward_train</c>, used by the training objectives): per-frame
    /// timesteps t [B, F], RoPE from frame 0, and block-causal self-attention — a token of chunk k attends to every token
    /// of chunks ≤ k (within <c>local_attn_size</c> frames when set). Equals running the cached forward chunk by chunk.
    /// </summary>
    public Tensor ForwardBlockCausal(Tensor x, Tensor t, Tensor context)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (x.dim() != 5) throw new ArgumentException($"latents must be [B, C, F, H, W], got [{string.Join(", ", x.shape)}]");
        if (t.dim() == 1) t = t.unsqueeze(1).expand(t.shape[0], x.shape[2]);
        var ps = Config.PatchSize;
        long frames = x.shape[2] / ps[0], tokensPerFrame = x.shape[3] / ps[1] * (x.shape[4] / ps[2]);
        using var mask = BlockCausalMask(frames, tokensPerFrame, Config.NumFramePerBlock, Config.LocalAttnSize, x.device);
        return Run(x, t, context, null, null, 0, mask);
    }

    /// <summary>[L, L] boolean mask, true where query token q may attend key token k (reference <c>_prepare_blockwise_causal_attn_mask</c>).</summary>
    public static Tensor BlockCausalMask(long frames, long tokensPerFrame, int framesPerBlock, int localAttnSize, Device device)
    {
        if (framesPerBlock <= 0) throw new ArgumentOutOfRangeException(nameof(framesPerBlock));
        using var scope = NewDisposeScope();
        long tokens = frames * tokensPerFrame, blockTokens = framesPerBlock * tokensPerFrame;
        var index = arange(tokens, ScalarType.Int64, device);
        var ends = (index.div(blockTokens, RoundingMode.floor) + 1).mul(blockTokens).clamp_max(tokens); // end of q's chunk
        var q = ends.unsqueeze(1);
        var k = index.unsqueeze(0);
        var allowed = k < q;
        if (localAttnSize > 0) allowed = allowed & (k >= q - localAttnSize * tokensPerFrame);
        return (allowed | eye(tokens, dtype: ScalarType.Bool, device: device)).MoveToOuterDisposeScope();
    }

    /// <summary>Allocates a stream cache sized for this model (see <see cref="KvCache.Allocate"/>).</summary>
    public KvCache CreateCache(int batch, int capacityFrames, int latentHeight, int latentWidth, Device device, ScalarType dtype) =>
        KvCache.Allocate(Config, batch, capacityFrames, latentHeight, latentWidth, device, dtype);
}
