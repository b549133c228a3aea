using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace SelfForcing.Model.Vae;

/// <summary>
/// Reference <c>Decoder3d</c> (keys <c>decoder.*</c>): conv1, middle [res, attention, res], upsamples
/// (num_res_blocks + 1 residual blocks per stage, then a Resample that halves the channels), head
/// [RMS_norm, SiLU, CausalConv3d → 3]. Called one latent frame at a time with a <see cref="VaeFeatureCache"/>.
/// </summary>
public sealed class VaeDecoder3d : nn.Module<Tensor, Tensor>
{
#pragma warning disable IDE1006 // names mirror the state-dict keys
    public readonly CausalConv3d conv1;
    public readonly ModuleList<nn.Module> middle;
    public readonly ModuleList<nn.Module> upsamples;
    public readonly ModuleList<nn.Module> head;
#pragma warning restore IDE1006
    private readonly VaeRmsNorm _headNorm;
    private readonly CausalConv3d _headConv;

    public VaeDecoder3d(WanVaeConfig config, Device? device = null, ScalarType dtype = ScalarType.Float32) : base(nameof(VaeDecoder3d))
    {
        var mult = config.DimMult;
        var dims = new[] { mult[^1] }.Concat(mult.Reverse()).Select(u => (long)config.Dim * u).ToArray();
        double scale = 1.0 / Math.Pow(2, mult.Count - 2);
        var temperalUpsample = config.TemperalUpsample;

        conv1 = new CausalConv3d(config.ZDim, dims[0], 3, 1, device, dtype);
        middle = new ModuleList<nn.Module>(
            new VaeResidualBlock(dims[0], dims[0], device, dtype),
            new VaeAttentionBlock(dims[0], device, dtype),
            new VaeResidualBlock(dims[0], dims[0], device, dtype));

        var ups = new List<nn.Module>();
        long outDim = dims[0];
        for (int i = 0; i < dims.Length - 1; i++)
        {
            long inDim = dims[i];
            outDim = dims[i + 1];
            // Reference quirk kept verbatim: stages 1..3 start from the halved output of the preceding Resample.
            if (i is 1 or 2 or 3) inDim /= 2;
            for (int r = 0; r < config.NumResBlocks + 1; r++)
            {
                ups.Add(new VaeResidualBlock(inDim, outDim, device, dtype));
                if (config.AttnScales.Contains(scale)) ups.Add(new VaeAttentionBlock(outDim, device, dtype));
                inDim = outDim;
            }
            if (i != mult.Count - 1)
            {
                var mode = temperalUpsample[i] ? VaeResampleMode.Upsample3d : VaeResampleMode.Upsample2d;
                ups.Add(new VaeResample(outDim, mode, device, dtype));
                scale *= 2.0;
            }
        }
        upsamples = new ModuleList<nn.Module>(ups.ToArray());

        _headNorm = new VaeRmsNorm(outDim, images: false, device, dtype);
        _headConv = new CausalConv3d(outDim, 3, 3, 1, device, dtype);
        head = new ModuleList<nn.Module>(_headNorm, nn.SiLU(), _headConv);

        register_module(nameof(conv1), conv1);
        register_module(nameof(middle), middle);
        register_module(nameof(upsamples), upsamples);
        register_module(nameof(head), head);
    }

    public override Tensor forward(Tensor x) => Forward(x, null);

    /// <summary>x: [B, z_dim, t, h, w] after <c>conv2</c>; the cache's cursor is restarted here.</summary>
    public Tensor Forward(Tensor x, VaeFeatureCache? cache)
    {
        using var scope = NewDisposeScope();
        cache?.BeginPass();
        // Only the current activation stays alive: each layer's input is freed once its output exists.
        x = VaeFeatureCache.CachedConv(conv1, x, cache);
        foreach (var layer in middle.Concat(upsamples)) x = VaeLayers.Replace(x, VaeLayers.Apply(layer, x, cache));
        x = VaeLayers.Replace(x, nn.functional.silu(_headNorm.call(x), inplace: true));
        x = VaeLayers.Replace(x, VaeFeatureCache.CachedConv(_headConv, x, cache));
        return x.MoveToOuterDisposeScope();
    }
}
