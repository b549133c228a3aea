using TorchSharp;
using static TorchSharp.torch;

namespace SelfForcing.Model.Vae;

/// <summary>
/// Reference <c>WanVAE_</c> plus the <c>WanVAEWrapper</c> conventions: latents are normalised per channel
/// (z_n = (μ − mean) / std), pixels are in [−1, 1]. Layout inside and outside is [B, C, T, H, W]. Modules are
/// registered in the reference order (encoder, conv1, conv2, decoder) with the reference names, so
/// <c>Wan2.1_VAE.pth</c> maps one to one. A decoder-only instance (<c>includeEncoder: false</c>) holds just
/// <c>conv2.*</c> and <c>decoder.*</c>, like the demo's <c>VAEDecoderWrapper</c>.
/// </summary>
public sealed class WanVae : nn.Module
{
#pragma warning disable IDE1006 // names mirror the state-dict keys
    public readonly VaeEncoder3d? encoder;
    public readonly CausalConv3d? conv1;
    public readonly CausalConv3d conv2;
    public readonly VaeDecoder3d decoder;
#pragma warning restore IDE1006

    public WanVaeConfig Config { get; }
    public Device Device { get; }
    public ScalarType DType { get; }
    public bool HasEncoder => encoder is not null;

    public WanVae(WanVaeConfig config, Device? device = null, ScalarType dtype = ScalarType.Float32, bool includeEncoder = true)
        : base(nameof(WanVae))
    {
        config.Validate();
        Config = config;
        Device = device ?? CPU;
        DType = dtype;
        if (includeEncoder)
        {
            encoder = new VaeEncoder3d(config, Device, dtype);
            conv1 = new CausalConv3d(config.ZDim * 2, config.ZDim * 2, 1, 0, Device, dtype);
            register_module(nameof(encoder), encoder);
            register_module(nameof(conv1), conv1);
        }
        conv2 = new CausalConv3d(config.ZDim, config.ZDim, 1, 0, Device, dtype);
        decoder = new VaeDecoder3d(config, Device, dtype);
        register_module(nameof(conv2), conv2);
        register_module(nameof(decoder), decoder);
        if (Device.type == DeviceType.CPU)
        {
            OneDnnConvolutionGuard.Apply(this);
            // Process-wide, like the oneDNN switch: this decoder's long-lived caches fragmented glibc's heap (NativeHeap).
            NativeHeap.FixMmapThreshold();
        }
    }

    /// <summary>Pixel frames that <paramref name="latentFrames"/> latents decode to under the reference policy.</summary>
    public int PixelFrameCount(int latentFrames) => latentFrames <= 0 ? 0 : 1 + Config.TemporalScale * (latentFrames - 1);

    /// <summary>
    /// Whole-video decode, reference <c>WanVAEWrapper.decode_to_pixel(use_cache=False)</c>: normalised latents
    /// [B, z_dim, T, h, w] → float32 pixels [B, 3, 1 + 4(T − 1), 8h, 8w] clamped to [−1, 1].
    /// </summary>
    public Tensor Decode(Tensor latents)
    {
        using var cache = new VaeFeatureCache(VaeFirstFramePolicy.Reference);
        return DecodeWithCache(latents, cache);
    }

    /// <summary>Opens a streaming decoder with its own cache; the weights stay owned by this VAE.</summary>
    public VaeStreamDecoder CreateStreamDecoder(VaeFirstFramePolicy policy = VaeFirstFramePolicy.Reference) => new(this, policy);

    internal Tensor DecodeWithCache(Tensor latents, VaeFeatureCache cache)
    {
        CheckLatents(latents);
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        var z = Denormalize(latents.to(DType, Device));
        var x = conv2.Forward(z, null);
        var frames = new List<Tensor>();
        for (long i = 0; i < x.shape[2]; i++)
        {
            using var step = NewDisposeScope();
            frames.Add(decoder.Forward(x.narrow(2, i, 1), cache).MoveToOuterDisposeScope());
        }
        var output = frames.Count == 1 ? frames[0] : cat(frames, 2);
        if (frames.Count > 1) foreach (var f in frames) f.Dispose();
        // A float32 decoder's output is its own tensor already: clamp it in place (the reference's clamp_).
        return (output.dtype == ScalarType.Float32 ? output.clamp_(-1.0, 1.0) : output.to(ScalarType.Float32).clamp_(-1.0, 1.0))
            .MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Reference <c>WanVAE_.encode</c> + wrapper: pixels [B, 3, T, H, W] in [−1, 1] → normalised μ as float32
    /// [B, z_dim, 1 + (T − 1) / 4, H/8, W/8]. Frames beyond the last full group of 4 are dropped, as in the reference.
    /// </summary>
    public Tensor Encode(Tensor video)
    {
        if (encoder is null || conv1 is null)
            throw new InvalidOperationException("This WanVae was built decoder-only (includeEncoder: false); it cannot encode.");
        if (video.dim() != 5)
            throw new ArgumentException($"Encode expects pixels [B, 3, T, H, W]; got rank {video.dim()} [{string.Join(", ", video.shape)}].", nameof(video));
        if (video.shape[1] != 3)
            throw new ArgumentException($"Encode expects 3 colour channels at dim 1 ([B, 3, T, H, W]); got [{string.Join(", ", video.shape)}].", nameof(video));
        int s = Config.SpatialScale;
        if (video.shape[3] % s != 0 || video.shape[4] % s != 0)
            throw new ArgumentException($"Encode needs H and W divisible by {s}; got {video.shape[3]}×{video.shape[4]}.", nameof(video));
        if (video.shape[2] < 1) throw new ArgumentException("Encode needs at least one frame.", nameof(video));

        using var noGrad = no_grad();
        using var cache = new VaeFeatureCache(VaeFirstFramePolicy.Reference);
        using var scope = NewDisposeScope();
        var x = video.to(DType, Device);
        long chunks = 1 + (x.shape[2] - 1) / Config.TemporalScale;
        var outs = new List<Tensor>();
        for (long i = 0; i < chunks; i++)
        {
            using var step = NewDisposeScope();
            var chunk = i == 0 ? x.narrow(2, 0, 1) : x.narrow(2, 1 + Config.TemporalScale * (i - 1), Config.TemporalScale);
            outs.Add(encoder.Forward(chunk, cache).MoveToOuterDisposeScope());
        }
        var h = outs.Count == 1 ? outs[0] : cat(outs, 2);
        var mu = conv1.Forward(h, null).chunk(2, 1)[0];
        var (mean, invStd) = Scales(mu.dtype);
        return ((mu - mean) * invStd).to(ScalarType.Float32).MoveToOuterDisposeScope();
    }

    /// <summary>z = z_n / (1/std) + mean, with the reciprocal taken in the latent dtype (bit-compatible with the reference in bf16/fp16).</summary>
    internal Tensor Denormalize(Tensor normalised)
    {
        var (mean, invStd) = Scales(normalised.dtype);
        return normalised / invStd + mean;
    }

    private (Tensor Mean, Tensor InvStd) Scales(ScalarType dtype)
    {
        var mean = tensor(Config.LatentMean.ToArray(), dtype: ScalarType.Float32).to(dtype, Device).view(1, Config.ZDim, 1, 1, 1);
        var invStd = 1.0 / tensor(Config.LatentStd.ToArray(), dtype: ScalarType.Float32).to(dtype, Device).view(1, Config.ZDim, 1, 1, 1);
        return (mean, invStd);
    }

    internal void CheckLatents(Tensor latents)
    {
        if (latents.dim() != 5)
            throw new ArgumentException(
                $"VAE decode expects latents [B, {Config.ZDim}, T, h, w]; got rank {latents.dim()} [{string.Join(", ", latents.shape)}].",
                nameof(latents));
        if (latents.shape[1] != Config.ZDim)
            throw new ArgumentException(
                $"VAE decode expects {Config.ZDim} latent channels at dim 1 ([B, C, T, h, w]); got [{string.Join(", ", latents.shape)}]" +
                (latents.shape[2] == Config.ZDim ? " — this looks like the generator's [B, T, C, h, w] layout; permute(0, 2, 1, 3, 4) first." : "."),
                nameof(latents));
        if (latents.shape[0] < 1 || latents.shape[2] < 1 || latents.shape[3] < 1 || latents.shape[4] < 1)
            throw new ArgumentException($"VAE decode got an empty latent tensor [{string.Join(", ", latents.shape)}].", nameof(latents));
        if (!latents.is_floating_point())
            throw new ArgumentException($"VAE decode expects floating-point latents; got {latents.dtype}.", nameof(latents));
    }

    /// <summary>
    /// Strict load: every parameter of this instance must be present with its exact shape, and no other key may
    /// appear — except that a decoder-only instance skips <c>encoder.*</c> and <c>conv1.*</c> (the demo's filter),
    /// so the full <c>Wan2.1_VAE.pth</c> loads into either form. Values are converted to this VAE's dtype/device.
    /// </summary>
    public void LoadStateDict(IReadOnlyDictionary<string, Tensor> weights)
    {
        var targets = named_parameters().ToDictionary(p => p.name, p => (Tensor)p.parameter, StringComparer.Ordinal);
        var offered = weights.Keys.Where(k => HasEncoder || !(k.StartsWith("encoder.", StringComparison.Ordinal) || k.StartsWith("conv1.", StringComparison.Ordinal)))
            .ToHashSet(StringComparer.Ordinal);
        var missing = targets.Keys.Where(k => !offered.Contains(k)).Order(StringComparer.Ordinal).ToList();
        var unexpected = offered.Where(k => !targets.ContainsKey(k)).Order(StringComparer.Ordinal).ToList();
        var misShaped = offered.Where(k => targets.ContainsKey(k) && !targets[k].shape.SequenceEqual(weights[k].shape))
            .Order(StringComparer.Ordinal)
            .Select(k => $"{k}: checkpoint [{string.Join(", ", weights[k].shape)}] vs model [{string.Join(", ", targets[k].shape)}]").ToList();
        if (missing.Count + unexpected.Count + misShaped.Count > 0)
        {
            var parts = new List<string>();
            if (missing.Count > 0) parts.Add($"missing {missing.Count} key(s): {string.Join(", ", missing)}");
            if (unexpected.Count > 0) parts.Add($"unexpected {unexpected.Count} key(s): {string.Join(", ", unexpected)}");
            if (misShaped.Count > 0) parts.Add($"wrong shape for {misShaped.Count} key(s): {string.Join("; ", misShaped)}");
            throw new ArgumentException($"Cannot load the Wan VAE weights: {string.Join(". ", parts)}");
        }
        using var noGrad = no_grad();
        foreach (var (name, target) in targets)
        {
            using var scope = NewDisposeScope();
            target.copy_(weights[name].to(target.dtype, target.device));
        }
    }

    /// <summary>
    /// Deterministic random weights (tests and benchmarks without a checkpoint): conv weights ~ N(0, 1/fan_in),
    /// biases ~ N(0, 0.02²), gammas ~ 1 + N(0, 0.1²). Not the reference init (which zero-fills some layers).
    /// </summary>
    public void InitializeRandom(long seed)
    {
        var gen = new Generator((ulong)seed);
        using var noGrad = no_grad();
        foreach (var (name, p) in named_parameters())
        {
            using var scope = NewDisposeScope();
            var r = randn(p.shape, dtype: ScalarType.Float32, generator: gen);
            Tensor value;
            if (name.EndsWith(".gamma", StringComparison.Ordinal)) value = 1 + 0.1 * r;
            else if (name.EndsWith(".bias", StringComparison.Ordinal)) value = 0.02 * r;
            else value = r / Math.Sqrt(p.shape.Skip(1).Aggregate(1L, (a, b) => a * b));
            p.copy_(value.to(p.dtype, p.device));
        }
    }
}
