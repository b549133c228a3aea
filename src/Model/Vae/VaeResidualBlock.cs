using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace SelfForcing.Model.Vae;

/// <summary>
/// Reference <c>ResidualBlock</c>: <c>residual</c> = [RMS_norm, SiLU, CausalConv3d 3³, RMS_norm, SiLU, Dropout,
/// CausalConv3d 3³] (keys residual.0/2/3/6), plus a 1×1×1 <c>shortcut</c> when the channel count changes.
/// Both 3³ convs are cached; the shortcut never is.
/// </summary>
public sealed class VaeResidualBlock : nn.Module<Tensor, Tensor>
{
#pragma warning disable IDE1006 // names mirror the state-dict keys
    public readonly ModuleList<nn.Module> residual;
    public readonly CausalConv3d? shortcut;
#pragma warning restore IDE1006
    private readonly VaeRmsNorm _norm1, _norm2;
    private readonly CausalConv3d _conv1, _conv2;

    public long InDim { get; }
    public long OutDim { get; }

    public VaeResidualBlock(long inDim, long outDim, Device? device = null, ScalarType dtype = ScalarType.Float32)
        : base(nameof(VaeResidualBlock))
    {
        InDim = inDim;
        OutDim = outDim;
        _norm1 = new VaeRmsNorm(inDim, images: false, device, dtype);
        _conv1 = new CausalConv3d(inDim, outDim, 3, 1, device, dtype);
        _norm2 = new VaeRmsNorm(outDim, images: false, device, dtype);
        _conv2 = new CausalConv3d(outDim, outDim, 3, 1, device, dtype);
        // Dropout(p = 0 in every Wan config) is an identity at inference; only its index matters for the keys.
        residual = new ModuleList<nn.Module>(_norm1, nn.SiLU(), _conv1, _norm2, nn.SiLU(), nn.Identity(), _conv2);
        if (inDim != outDim) shortcut = new CausalConv3d(inDim, outDim, 1, 0, device, dtype);
        register_module(nameof(residual), residual);
        if (shortcut is not null) register_module(nameof(shortcut), shortcut);
    }

    public override Tensor forward(Tensor x) => Forward(x, null);

    public Tensor Forward(Tensor x, VaeFeatureCache? cache)
    {
        // Each intermediate is freed as soon as the next one exists (PyTorch frees it when its name is rebound), so
        // the block holds at most its input, the shortcut and two activations; SiLU and the residual add run in place
        // on tensors this block made.
        using var scope = NewDisposeScope();
        var h = shortcut?.Forward(x, null);
        var y = nn.functional.silu(_norm1.call(x), inplace: true);
        y = VaeLayers.Replace(y, VaeFeatureCache.CachedConv(_conv1, y, cache));
        y = VaeLayers.Replace(y, nn.functional.silu(_norm2.call(y), inplace: true));
        y = VaeLayers.Replace(y, VaeFeatureCache.CachedConv(_conv2, y, cache));
        y.add_(h ?? x);
        h?.Dispose();
        return y.MoveToOuterDisposeScope();
    }
}
