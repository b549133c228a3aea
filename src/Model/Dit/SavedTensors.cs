using static TorchSharp.torch;

namespace SelfForcing.Model.Dit;

/// <summary>The recomputing backward passes' view of what their forward saved.</summary>
internal static class SavedTensors
{
    /// <summary>A saved slot that held a tensor (an absent optional input comes back invalid).</summary>
    public static Tensor? Valid(Tensor? t) => t is null || t.IsInvalid ? null : t;

    /// <summary>A fresh leaf for a saved input: its gradient is what the node hands on to the graph before the block.</summary>
    public static Tensor? Leaf(Tensor? t) => Valid(t) is { } v ? v.detach().requires_grad_(v.requires_grad) : null;
}
