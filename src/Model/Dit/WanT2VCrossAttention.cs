using TorchSharp;
using static TorchSharp.torch;

namespace SelfForcing.Model.Dit;

/// <summary>Text cross-attention: no RoPE, no mask — every text row, zero padding included, is attended.</summary>
public sealed class WanT2VCrossAttention : WanAttentionProjections
{
    public WanT2VCrossAttention(WanConfig c, Device? device, ScalarType dtype, WeightInit init = WeightInit.Default)
        : base(nameof(WanT2VCrossAttention), c, device, dtype, init) =>
        RegisterComponents();

    /// <summary>Keys and values [B, text_len, N, d] of the embedded text.</summary>
    public (Tensor K, Tensor V) KeysValues(Tensor context) => (SplitHeads(norm_k.forward(k.forward(context))), SplitHeads(v.forward(context)));

    /// <param name="x">[B, L, D] (already norm3'd).</param>
    /// <param name="context">[B, text_len, D] embedded text; ignored when the cache already holds this layer's keys.</param>
    public Tensor Forward(Tensor x, Tensor? context, KvCache? cache = null, int layer = 0)
    {
        using var scope = NewDisposeScope();
        Tensor kh, vh;
        // A gradient-carrying call with the text at hand recomputes the keys/values so that gradient reaches
        // text_embedding and k/v (the reference's checkpointed training path bypasses the cross-attention cache too).
        bool cached = cache is not null && cache.CrossAttentionReady(layer);
        if (cached && (context is null || !is_grad_enabled()))
            (kh, vh) = cache!.CrossAttention(layer);
        else
        {
            if (context is null) throw new ArgumentNullException(nameof(context), "text context is required until the cross-attention cache is filled");
            (kh, vh) = KeysValues(context);
            if (!cached) cache?.SetCrossAttention(layer, kh, vh);
        }
        return AttendAndProject(SplitHeads(norm_q.forward(q.forward(x))), kh, vh).MoveToOuterDisposeScope();
    }
}
