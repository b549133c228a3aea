using TorchSharp;
using static TorchSharp.torch;
using static TorchSharp.torch.autograd;

namespace SelfForcing.Model.Dit;

/// <summary>
/// Activation checkpointing of one transformer block (the reference's non-reentrant <c>torch.utils.checkpoint</c> per
/// block): the forward keeps only the block's inputs, and backward recomputes the block with gradient to get the
/// gradients of its inputs and parameters. The parameters are passed as explicit inputs so that the autograd node has
/// edges to them. Only for cache-free calls: a cached call writes the KV cache, and a recomputation would write it again.
/// </summary>
internal sealed class CheckpointedBlock : MultiTensorFunction<CheckpointedBlock>
{
    private const string BlockKey = "block", ModelKey = "model";
    // Argument slots: the block, then the tensors the autograd node sees as inputs, then the block's parameters.
    private const int X = 1, E0 = 2, Context = 3, Cos = 4, Sin = 5, Mask = 6, ModelSlot = 7, FirstParameter = 8;

    public override string Name => nameof(CheckpointedBlock);

    /// <summary>The block's output for [B, L, D] hidden states, with its activations recomputed in backward.</summary>
    public static Tensor Run(WanTransformer model, WanAttentionBlock block, Tensor x, Tensor e0, Tensor? context, Tensor ropeCos, Tensor ropeSin, Tensor? mask)
    {
        var args = new List<object?> { block, x, e0, context, ropeCos, ropeSin, mask, model };
        args.AddRange(block.parameters());
        return apply(args.ToArray()!)[0];
    }

    public override List<Tensor> forward(AutogradContext ctx, params object[] vars)
    {
        var block = (WanAttentionBlock)vars[0];
        Tensor? At(int slot) => vars[slot] as Tensor;
        // Saved natively with the graph node: they outlive the caller's dispose scope until backward has run.
        ctx.save_for_backward([At(X)!, At(E0)!, At(Context)!, At(Cos)!, At(Sin)!, At(Mask)!]);
        ctx.save_data(BlockKey, block);
        ctx.save_data(ModelKey, vars[ModelSlot]);
        return [Forward(block, At(X)!, At(E0)!, At(Context), At(Cos)!, At(Sin)!, At(Mask))];
    }

    public override List<Tensor> backward(AutogradContext ctx, List<Tensor> gradOutputs)
    {
        var block = (WanAttentionBlock)ctx.get_data(BlockKey);
        var saved = ctx.get_saved_variables();
        using var scope = NewDisposeScope();
        using var grad = enable_grad();
        var x = SavedTensors.Leaf(saved[0])!;
        var e0 = SavedTensors.Leaf(saved[1])!;
        var context = SavedTensors.Leaf(saved[2]);
        var output = Forward(block, x, e0, context, saved[3], saved[4], SavedTensors.Valid(saved[5]));
        ((WanTransformer)ctx.get_data(ModelKey)).CountRecomputedBlock();

        var parameters = block.parameters().ToList();
        var wrt = new List<(int Slot, Tensor Input)>();
        void Want(int slot, Tensor? t) { if (t is not null && t.requires_grad) wrt.Add((slot, t)); }
        Want(X, x);
        Want(E0, e0);
        Want(Context, context);
        for (int i = 0; i < parameters.Count; i++) Want(FirstParameter + i, parameters[i]);

        var result = new Tensor[FirstParameter + parameters.Count];
        if (wrt.Count > 0)
        {
            var grads = autograd.grad([output], wrt.Select(w => w.Input).ToList(), [gradOutputs[0]], allow_unused: true);
            for (int i = 0; i < wrt.Count; i++)
                if (SavedTensors.Valid(grads[i]) is { } g) result[wrt[i].Slot] = g.DetachFromDisposeScope();
        }
        return result.ToList();
    }

    private static Tensor Forward(WanAttentionBlock block, Tensor x, Tensor e0, Tensor? context, Tensor cos, Tensor sin, Tensor? mask) =>
        block.Forward(x, e0, context, cos, sin, null, 0, 0, mask);
}
