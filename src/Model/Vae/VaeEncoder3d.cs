using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace SelfForcing.Model.Vae;

/// <summary>
/// Reference <c>Encoder3d</c> (keys <c>encoder.*</c>): conv1, downsamples (num_res_blocks residual blocks per
/// stage, then a Resample), middle [res, attention, res], head [RMS_norm, SiLU, CausalConv3d → 2·z_dim].
/// Called on pixel chunks of 1, 4, 4, … frames with a <see cref="VaeFeatureCache"/>.
/// </summary>
public sealed class VaeEncoder3d : nn.Module<Tensor, Tensor>
{
#pragma warning disable IDE1006 // names mirror the state-dict keys
    public readonly CausalConv3d conv1;
    public readonly ModuleList<nn.Module> downsamples;
    public readonly ModuleList<nn.Module> middle;
    public readonly ModuleList<nn.Module> head;
#pragma warning restore IDE1006
    private readonly VaeRmsNorm _headNorm;
    private readonly CausalConv3d _headConv;

    public VaeEncoder3d(WanVaeConfig config, Device? device = null, ScalarType dtype = ScalarType.Float32) : base(nameof(VaeEncoder3d))
    {
        var mult = config.DimMult;
        var dims = new[] { 1 }.Concat(mult).Select(u => (long)config.Dim * u).ToArray();
        double scale = 1.0;

        conv1 = new CausalConv3d(3, dims[0], 3, 1, device, dtype);
        var downs = new List<nn.Module>();
        long outDim = dims[0];
        for (int i = 0; i < dims.Length - 1; i++)
        {
            long inDim = dims[i];
            outDim = dims[i + 1];
            for (int r = 0; r < config.NumResBlocks; r++)
            {
                downs.Add(new VaeResidualBlock(inDim, outDim, device, dtype));
                if (config.AttnScales.Contains(scale)) downs.Add(new VaeAttentionBlock(outDim, device, dtype));
                inDim = outDim;
            }
            if (i != mult.Count - 1)
            {
                var mode = config.TemperalDownsample[i] ? VaeResampleMode.Downsample3d : VaeResampleMode.Downsample2d;
                downs.Add(new VaeResample(outDim, mode, device, dtype));
                scale /= 2.0;
            }
        }
        downsamples = new ModuleList<nn.Module>(downs.ToArray());
        middle = new ModuleList<nn.Module>(
            new VaeResidualBlock(outDim, outDim, device, dtype),
            new VaeAttentionBlock(outDim, device, dtype),
            new VaeResidualBlock(outDim, outDim, device, dtype));
        _headNorm = new VaeRmsNorm(outDim, images: false, device, dtype);
        _headConv = new CausalConv3d(outDim, config.ZDim * 2, 3, 1, device, dtype);
        head = new ModuleList<nn.Module>(_headNorm, nn.SiLU(), _headConv);

        register_module(nameof(conv1), conv1);
        register_module(nameof(downsamples), downsamples);
        register_module(nameof(middle), middle);
        register_module(nameof(head), head);
    }

    public override Tensor forward(Tensor x) => Forward(x, null);

    /// <summary>x: a pixel chunk [B, 3, t, H, W]; the cache's cursor is restarted here.</summary>
    public Tensor Forward(Tensor x, VaeFeatureCache? cache)
    {
        using var scope = NewDisposeScope();
        cache?.BeginPass();
        // Only the current activation stays alive: each layer's input is freed once its output exists.
        x = VaeFeatureCache.CachedConv(conv1, x, cache);
        foreach (var layer in downsamples.Concat(middle)) x = VaeLayers.Replace(x, VaeLayers.Apply(layer, x, cache));
        x = VaeLayers.Replace(x, nn.functional.silu(_headNorm.call(x), inplace: true));
        x = VaeLayers.Replace(x, VaeFeatureCache.CachedConv(_headConv, x, cache));
        return x.MoveToOuterDisposeScope();
    }
}
