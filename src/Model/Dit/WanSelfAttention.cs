using TorchSharp;
using static TorchSharp.torch;

namespace SelfForcing.Model.Dit;

/// <summary>
/// Self-attention of a Wan block: RMS-normed q/k over the full dim (before the head split), 3-axis RoPE, softmax
/// attention. Bidirectional over the call's tokens, or — with a <see cref="KvCache"/> — over the stream's cached
/// keys (the call's own keys are written first, so a chunk attends to itself fully).
/// </summary>
public sealed class WanSelfAttention : WanAttentionProjections
{
    public WanSelfAttention(WanConfig c, Device? device, ScalarType dtype, WeightInit init = WeightInit.Default) : base(nameof(WanSelfAttention), c, device, dtype, init) => RegisterComponents();

    /// <param name="x">[B, L, D] modulated hidden states.</param>
    /// <param name="cache">null for attention over x's tokens only.</param>
    /// <param name="mask">[L, L] keys each query may attend (true = attend), e.g. block-causal for training; null = all.</param>
    /// <param name="prefix">instead of a cache: the earlier keys/values to attend before x's own (a checkpointed cached call).</param>
    internal Tensor Forward(Tensor x, Tensor ropeCos, Tensor ropeSin, KvCache? cache, int layer, long currentStart, Tensor? mask,
        AttentionPrefix? prefix)
    {
        using var scope = NewDisposeScope();
        var qh = RotaryEmbedding.Apply(SplitHeads(norm_q.forward(q.forward(x))), ropeCos, ropeSin);
        var kh = RotaryEmbedding.Apply(SplitHeads(norm_k.forward(k.forward(x))), ropeCos, ropeSin);
        var vh = SplitHeads(v.forward(x));
        if ((cache is not null || prefix is not null) && mask is not null)
            throw new ArgumentException("a masked call attends over its own tokens; it cannot also use the KV cache");
        if (cache is not null && prefix is not null) throw new ArgumentException("a call attends through the KV cache or a given prefix, not both");
        if (prefix is not null)
            (kh, vh) = prefix.Attend(kh, vh);
        else if (cache is not null)
            (kh, vh) = is_grad_enabled() && (kh.requires_grad || vh.requires_grad)
                ? cache.WriteAndReadWithGradient(layer, currentStart, kh, vh)
                : cache.WriteAndRead(layer, currentStart, kh, vh);
        return AttendAndProject(qh, kh, vh, mask).MoveToOuterDisposeScope();
    }

    public Tensor Forward(Tensor x, Tensor ropeCos, Tensor ropeSin, KvCache? cache = null, int layer = 0, long currentStart = 0,
        Tensor? mask = null) => Forward(x, ropeCos, ropeSin, cache, layer, currentStart, mask, null);
}
