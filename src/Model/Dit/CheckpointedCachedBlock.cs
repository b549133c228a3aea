using TorchSharp;
using static TorchSharp.torch;
using static TorchSharp.torch.autograd;

namespace SelfForcing.Model.Dit;

/// <summary>
/// Activation checkpointing of one transformer block in a KV-cached, gradient-carrying call (the Self-Forcing rollout's
/// exit steps). The forward runs the block without a graph, attending to the cache's earlier keys/values passed in as an
/// <see cref="AttentionPrefix"/>, and writes the call's own keys/values into the cache once; backward recomputes the block
/// against the same earlier keys/values — views of the cache's slots before the call, which no later call writes (see
/// <see cref="KvCache.CheckpointPrefix"/>) — so the recomputation neither writes the cache again nor sees a later call's
/// keys. Gradient across chunks follows <see cref="KvCache.GradientMode"/> as without checkpointing: with
/// <see cref="CacheGradient.Reference"/> the call's own keys/values are extra outputs the cache records as its
/// gradient-carrying write, and the earlier writes are extra inputs that receive the gradient of the keys/values they wrote.
/// </summary>
internal sealed class CheckpointedCachedBlock : MultiTensorFunction<CheckpointedCachedBlock>
{
    private const string CallKey = "call";
    // Argument slots: the block, the call, the tensors the autograd node sees as inputs, the earlier writes' keys and values,
    // then the block's parameters.
    private const int X = 2, E0 = 3, Context = 4, Cos = 5, Sin = 6, FirstWriter = 7;

    /// <summary>What backward needs besides the saved tensors.</summary>
    private sealed record Call(WanTransformer Model, WanAttentionBlock Block, KvCache? CrossCache, int Layer, long Start, CachedPrefix Prefix,
        (long Start, long Length)[] Writers, bool OwnOutputs);

    public override string Name => nameof(CheckpointedCachedBlock);

    /// <summary>
    /// The block's output for the call's [B, L, D] hidden states, its activations recomputed in backward. The cache must have
    /// registered the call (<see cref="KvCache.BeginCall"/>); <paramref name="context"/> null means the cross-attention keys
    /// come from the cache.
    /// </summary>
    public static Tensor Run(WanTransformer model, WanAttentionBlock block, Tensor x, Tensor e0, Tensor? context, Tensor ropeCos, Tensor ropeSin,
        KvCache cache, int layer, long currentStart)
    {
        // The views must outlive the caller's dispose scope: backward disposes them (or, if it never runs, the finaliser).
        var prefix = cache.CheckpointPrefix(layer, currentStart);
        prefix.K.DetachFromDisposeScope();
        prefix.V.DetachFromDisposeScope();
        bool reference = cache.GradientMode == CacheGradient.Reference;
        var call = new Call(model, block, context is null ? cache : null, layer, currentStart, prefix,
            prefix.Writers.Select(w => (w.Start, w.K.shape[1])).ToArray(), reference);
        var args = new List<object?> { block, call, x, e0, context, ropeCos, ropeSin };
        foreach (var w in prefix.Writers) { args.Add(w.K); args.Add(w.V); }
        args.AddRange(block.parameters());
        var outputs = apply(args.ToArray()!);
        if (reference) cache.RecordGradientWrite(layer, currentStart, outputs[1], outputs[2]);
        return outputs[0];
    }

    public override List<Tensor> forward(AutogradContext ctx, params object[] vars)
    {
        var call = (Call)vars[1];
        Tensor? At(int slot) => vars[slot] as Tensor;
        // Saved natively with the graph node: they outlive the caller's dispose scope until backward has run.
        ctx.save_for_backward([At(X)!, At(E0)!, At(Context)!, At(Cos)!, At(Sin)!]);
        ctx.save_data(CallKey, call);
        // Keys/values no later call read arrive without a gradient; they are left out below rather than materialised as
        // zeros (TorchSharp would make those from shape records that the caller's dispose scope has already freed).
        ctx.set_materialize_grads(false);
        var prefix = new AttentionPrefix(call.Prefix.K, call.Prefix.V);
        var output = call.Block.Forward(At(X)!, At(E0)!, At(Context), At(Cos)!, At(Sin)!, call.CrossCache, call.Layer, call.Start, null, prefix);
        call.Prefix.Cache.WriteOwn(call.Layer, call.Start, prefix.OwnK!, prefix.OwnV!);
        // Aliases made here belong to the caller's dispose scope, as the block's output does.
        List<Tensor> outputs = call.OwnOutputs ? [output, prefix.OwnK!.alias(), prefix.OwnV!.alias()] : [output];
        prefix.DisposeOwn();
        return outputs;
    }

    public override List<Tensor> backward(AutogradContext ctx, List<Tensor> gradOutputs)
    {
        var call = (Call)ctx.get_data(CallKey);
        call.Prefix.AssertUnchanged();
        var saved = ctx.get_saved_variables();
        using var scope = NewDisposeScope();
        using var grad = enable_grad();
        var x = SavedTensors.Leaf(saved[0])!;
        var e0 = SavedTensors.Leaf(saved[1])!;
        var context = SavedTensors.Leaf(saved[2]);
        bool routed = call.Writers.Length > 0;
        var earlierK = call.Prefix.K.detach().requires_grad_(routed);
        var earlierV = call.Prefix.V.detach().requires_grad_(routed);
        var prefix = new AttentionPrefix(earlierK, earlierV);
        var output = call.Block.Forward(x, e0, context, saved[3], saved[4], call.CrossCache, call.Layer, call.Start, null, prefix);
        call.Model.CountRecomputedBlock();
        var outputs = new List<Tensor>();
        var outputGrads = new List<Tensor>();
        var recomputed = call.OwnOutputs ? new[] { output, prefix.OwnK!, prefix.OwnV! } : [output];
        for (int i = 0; i < recomputed.Length; i++)
        {
            if (SavedTensors.Valid(gradOutputs[i]) is not { } g) continue;
            outputs.Add(recomputed[i]);
            outputGrads.Add(g);
        }

        var parameters = call.Block.parameters().ToList();
        int firstParameter = FirstWriter + 2 * call.Writers.Length;
        var wrt = new List<(int Slot, Tensor Input)>();
        void Want(int slot, Tensor? t) { if (t is not null && t.requires_grad) wrt.Add((slot, t)); }
        Want(X, x);
        Want(E0, e0);
        Want(Context, context);
        const int earlierKSlot = -1, earlierVSlot = -2;
        Want(earlierKSlot, earlierK);
        Want(earlierVSlot, earlierV);
        for (int i = 0; i < parameters.Count; i++) Want(firstParameter + i, parameters[i]);

        var result = new Tensor[firstParameter + parameters.Count];
        if (wrt.Count > 0 && outputs.Count > 0)
        {
            var grads = autograd.grad(outputs, wrt.Select(w => w.Input).ToList(), outputGrads, allow_unused: true);
            for (int i = 0; i < wrt.Count; i++)
            {
                if (SavedTensors.Valid(grads[i]) is not { } g) continue;
                if (wrt[i].Slot >= 0) { result[wrt[i].Slot] = g.DetachFromDisposeScope(); continue; }
                // The earlier keys (values): each earlier write gets the gradient of the slots it wrote.
                int offset = wrt[i].Slot == earlierKSlot ? 0 : 1;
                for (int w = 0; w < call.Writers.Length; w++)
                    result[FirstWriter + 2 * w + offset] = g.narrow(1, call.Writers[w].Start, call.Writers[w].Length).contiguous().DetachFromDisposeScope();
            }
        }
        prefix.DisposeOwn();
        // Backward runs once per graph (no retain_graph in training): the views of the cache can go now, which lets the
        // cache's buffers go too.
        call.Prefix.K.Dispose();
        call.Prefix.V.Dispose();
        return result.ToList();
    }
}
