using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace SelfForcing.Model.Taehv;

/// <summary>Soft clamp tanh(x/3)·3.</summary>
public sealed class TaehvClamp() : nn.Module<Tensor, Tensor>(nameof(TaehvClamp))
{
    public override Tensor forward(Tensor x) => (x / 3).tanh_().mul_(3);
}

/// <summary>
/// ReLU(conv-stack(cat[x, past]) + x): <c>past</c> is the input this block saw for the previous frame. (In TAEHV's
/// decoder n_in == n_out everywhere, so the skip is the identity and has no weights.)
/// </summary>
public sealed class MemBlock : nn.Module<Tensor, Tensor, Tensor>
{
#pragma warning disable IDE1006
    public readonly Sequential conv;
#pragma warning restore IDE1006

    public MemBlock(long channels, Device? device, ScalarType dtype) : base(nameof(MemBlock))
    {
        conv = nn.Sequential(
            ("0", nn.Conv2d(2 * channels, channels, 3, padding: 1, device: device, dtype: dtype)),
            ("1", nn.ReLU()),
            ("2", nn.Conv2d(channels, channels, 3, padding: 1, device: device, dtype: dtype)),
            ("3", nn.ReLU()),
            ("4", nn.Conv2d(channels, channels, 3, padding: 1, device: device, dtype: dtype)));
        RegisterComponents();
    }

    /// <summary>
    /// Each intermediate is freed as soon as the next one exists, and the ReLUs and the skip add run in place (the
    /// reference's <c>ReLU(inplace=True)</c>), so the block holds its inputs and at most two activations.
    /// </summary>
    public override Tensor forward(Tensor x, Tensor past)
    {
        using var scope = NewDisposeScope();
        var y = cat([x, past], 1);
        foreach (var layer in conv.children())
        {
            var next = layer is ReLU ? y.relu_() : ((nn.Module<Tensor, Tensor>)layer).call(y);
            if (!ReferenceEquals(next, y)) y.Dispose();
            y = next;
        }
        return y.add_(x).relu_().MoveToOuterDisposeScope();
    }
}

/// <summary>Temporal expansion by <c>stride</c>: 1×1 conv C → stride·C, output frame t·s + k = channel group k of frame t.</summary>
public sealed class TGrow : nn.Module<Tensor, Tensor>
{
    private readonly long _channels;
#pragma warning disable IDE1006
    public readonly Conv2d conv;
#pragma warning restore IDE1006

    public int Stride { get; }

    public TGrow(long channels, int stride, Device? device, ScalarType dtype) : base(nameof(TGrow))
    {
        _channels = channels;
        Stride = stride;
        conv = nn.Conv2d(channels, channels * stride, 1, bias: false, device: device, dtype: dtype);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        // The reshaped view is all that leaves: no second handle keeps the conv output alive once the view is freed.
        using var scope = NewDisposeScope();
        return conv.call(x).reshape(-1, _channels, x.shape[2], x.shape[3]).MoveToOuterDisposeScope();
    }
}
