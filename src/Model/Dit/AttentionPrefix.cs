using static TorchSharp.torch;

namespace SelfForcing.Model.Dit;

/// <summary>
/// The keys/values [B, start, N, d] a KV-cached call attends to before its own tokens, handed to self-attention directly
/// instead of through the <see cref="KvCache"/>: a checkpointed cached call (<see cref="CheckpointedCachedBlock"/>) runs
/// its block with them, in the forward and again in backward, so the recomputation neither writes nor reads the cache.
/// Self-attention attends over <c>[K ; own keys]</c> and leaves its own RoPE'd keys and values in <see cref="OwnK"/> and
/// <see cref="OwnV"/> (outside any dispose scope: the holder disposes them), which the cache later routes gradient into.
/// </summary>
internal sealed class AttentionPrefix(Tensor k, Tensor v)
{
    public Tensor K { get; } = k;
    public Tensor V { get; } = v;
    public Tensor? OwnK { get; private set; }
    public Tensor? OwnV { get; private set; }

    /// <summary>Keeps the call's own keys/values and returns what it attends over.</summary>
    public (Tensor K, Tensor V) Attend(Tensor ownK, Tensor ownV)
    {
        if (OwnK is not null) throw new InvalidOperationException("an attention prefix serves one block forward");
        OwnK = ownK.DetachFromDisposeScope();
        OwnV = ownV.DetachFromDisposeScope();
        return (cat([K, ownK], 1), cat([V, ownV], 1));
    }

    public void DisposeOwn()
    {
        OwnK?.Dispose();
        OwnV?.Dispose();
    }
}
