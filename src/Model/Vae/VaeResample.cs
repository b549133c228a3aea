using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace SelfForcing.Model.Vae;

/// <summary>
/// Reference <c>Resample</c>. The spatial op (<c>resample</c> = [Upsample | ZeroPad2d, Conv2d], key
/// <c>resample.1</c>) runs per frame; the 3-D modes add a causal temporal conv (<c>time_conv</c>): before the
/// spatial op when up-sampling (doubling the frames by interleaving two channel halves), after it when
/// down-sampling (stride 2 in time). Cache rules: spec vae.md §6.3 / §6.4.
/// </summary>
public sealed class VaeResample : nn.Module<Tensor, Tensor>
{
#pragma warning disable IDE1006 // names mirror the state-dict keys
    public readonly Sequential resample;
    public readonly CausalConv3d? time_conv;
#pragma warning restore IDE1006

    public VaeResampleMode Mode { get; }
    public long Dim { get; }

    public VaeResample(long dim, VaeResampleMode mode, Device? device = null, ScalarType dtype = ScalarType.Float32)
        : base(nameof(VaeResample))
    {
        Dim = dim;
        Mode = mode;
        switch (mode)
        {
            case VaeResampleMode.Upsample2d:
            case VaeResampleMode.Upsample3d:
                resample = nn.Sequential(new NearestUpsample2x(), nn.Conv2d(dim, dim / 2, 3, padding: 1, device: device, dtype: dtype));
                if (mode == VaeResampleMode.Upsample3d)
                    time_conv = new CausalConv3d(dim, dim * 2, (3, 1, 1), (1, 0, 0), null, device, dtype);
                break;
            case VaeResampleMode.Downsample2d:
            case VaeResampleMode.Downsample3d:
                resample = nn.Sequential(new ZeroPadRightBottom(), nn.Conv2d(dim, dim, 3, stride: 2, device: device, dtype: dtype));
                if (mode == VaeResampleMode.Downsample3d)
                    time_conv = new CausalConv3d(dim, dim, (3, 1, 1), (0, 0, 0), (2, 1, 1), device, dtype);
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(mode), mode, null);
        }
        register_module(nameof(resample), resample);
        if (time_conv is not null) register_module(nameof(time_conv), time_conv);
    }

    public override Tensor forward(Tensor x) => Forward(x, null);

    public Tensor Forward(Tensor x, VaeFeatureCache? cache)
    {
        using var scope = NewDisposeScope();
        var y = Mode == VaeResampleMode.Upsample3d && cache is not null ? TemporalUpsample(x, cache) : x;
        var z = PerFrame(y);
        if (!ReferenceEquals(y, x)) y.Dispose();
        if (Mode == VaeResampleMode.Downsample3d && cache is not null) z = VaeLayers.Replace(z, TemporalDownsample(z, cache));
        return z.MoveToOuterDisposeScope();
    }

    // Every full-size intermediate (frames, the 2× up-sampled frames, the conv output) is freed as soon as the next
    // one exists; only the result leaves the scope.
    private Tensor PerFrame(Tensor x)
    {
        using var scope = NewDisposeScope();
        long b = x.shape[0], c = x.shape[1], t = x.shape[2];
        var frames = x.permute(0, 2, 1, 3, 4).reshape(b * t, c, x.shape[3], x.shape[4]);
        Tensor y = frames;
        foreach (var layer in resample.children())
            y = VaeLayers.Replace(y, ((nn.Module<Tensor, Tensor>)layer).call(y));
        return VaeLayers.Replace(y, y.reshape(b, t, y.shape[1], y.shape[2], y.shape[3]).permute(0, 2, 1, 3, 4).contiguous())
            .MoveToOuterDisposeScope();
    }

    private Tensor TemporalUpsample(Tensor x, VaeFeatureCache cache)
    {
        int slot = cache.NextSlot();
        var state = cache.StateOf(slot);
        if (state == VaeFeatureCache.SlotState.Empty && cache.Policy == VaeFirstFramePolicy.Reference)
        {
            // The very first latent frame of a video is not expanded in time (it becomes the single first pixel frame).
            cache.SetRep(slot);
            return x;
        }
        using var scope = NewDisposeScope();
        // A zero-initialised slot (demo policy) behaves exactly like 'Rep': zero context, [0, x] kept.
        bool rep = state != VaeFeatureCache.SlotState.Frames;
        var prev = rep ? null : cache.FramesOf(slot);
        var next = VaeFeatureCache.LastFrames(x, prev);
        if (rep && next.shape[2] < VaeFeatureCache.CacheT)
            next = cat([zeros_like(next), next], 2);
        var y = time_conv!.Forward(x, prev);
        cache.SetFrames(slot, next);

        long b = x.shape[0], c = x.shape[1], t = x.shape[2], h = x.shape[3], w = x.shape[4];
        // Channels [0, C) give the even output frames, [C, 2C) the odd ones.
        var halves = y.reshape(b, 2, c, t, h, w);
        var interleaved = stack([halves.select(1, 0), halves.select(1, 1)], 3);
        y.Dispose();
        return interleaved.reshape(b, c, t * 2, h, w).MoveToOuterDisposeScope();
    }

    private Tensor TemporalDownsample(Tensor x, VaeFeatureCache cache)
    {
        int slot = cache.NextSlot();
        if (cache.StateOf(slot) != VaeFeatureCache.SlotState.Frames)
        {
            // First chunk: no temporal reduction; all its frames are kept as context.
            cache.SetFrames(slot, x.clone());
            return x;
        }
        var prev = cache.FramesOf(slot)!;
        var next = x.narrow(2, x.shape[2] - 1, 1).clone();
        var y = time_conv!.Forward(cat([prev.narrow(2, prev.shape[2] - 1, 1), x], 2), null);
        cache.SetFrames(slot, next);
        return y;
    }
}
