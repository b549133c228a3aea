using SelfForcing.Model.Checkpoints;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;
using static TorchSharp.torch.nn.functional;

namespace SelfForcing.World;

/// <summary>
/// A tiny VAE trained on the world's frames (the issue's other latent option): 32×32 RGB → [16, 8, 8] and back, frame
/// by frame (no temporal compression, so the decoder stays stateless and a chunk is still 3 frames).
/// <para>Why beside <see cref="WorldLatents"/>: on 2×2 space-to-depth pixels the DiT must draw every hard edge of a
/// shape itself, across several tokens, and every teacher trained here drew blobs. Here a token of the DiT's 2×2 patches
/// covers 8×8 pixels, about one object, whose shape and colour are a code the decoder renders crisply; and a latent
/// frame is 16 tokens instead of 64, so a step costs a fraction as much.</para>
/// <para>Latents are normalised per channel (<c>latent_mean</c>, <c>latent_std</c>, measured over the training frames
/// after training) so the DiT sees unit-scale values, as Wan's VAE scales its own.</para>
/// </summary>
public sealed class WorldAutoencoder : Module<Tensor, Tensor>
{
    public const int Channels = WorldLatents.Channels;
    public const int Factor = 4;
    public const string Kind = "world-vae";
    // A fourth, zero input channel, a fourth output channel that is dropped, and upsampling by broadcast: the layout the
    // README's VAE was measured with, kept so that file loads. They were tried against NaN gradients whose cause was
    // elsewhere (oneDNN's convolutions, see MatmulConv2d) and cost nothing.
    private const int Hidden = 64;

    private readonly Sequential encoder;
    private readonly Sequential decoder;
    private readonly Parameter latent_mean;
    private readonly Parameter latent_std;

    public WorldAutoencoder() : base(nameof(WorldAutoencoder))
    {
        encoder = Sequential(
            PixelUnshuffle(2), new PerPixelLinear(16, Hidden), SiLU(),
            new MatmulConv2d(Hidden, Hidden, 3, padding: 1), SiLU(),
            new MatmulConv2d(Hidden, Hidden, 3, padding: 1), SiLU(),
            new MatmulConv2d(Hidden, Hidden, 4, stride: 2, padding: 1), SiLU(),
            new MatmulConv2d(Hidden, Hidden, 3, padding: 1), SiLU(),
            new MatmulConv2d(Hidden, 2 * Channels, 1));
        decoder = Sequential(
            new MatmulConv2d(Channels, Hidden, 3, padding: 1), SiLU(),
            new MatmulConv2d(Hidden, Hidden, 3, padding: 1), SiLU(),
            new Double2x(),
            new MatmulConv2d(Hidden, Hidden, 3, padding: 1), SiLU(),
            new MatmulConv2d(Hidden, Hidden, 3, padding: 1), SiLU(),
            new Double2x(),
            new MatmulConv2d(Hidden, 48, 3, padding: 1), SiLU(),
            new MatmulConv2d(48, 4, 3, padding: 1));
        latent_mean = new Parameter(zeros(Channels), requires_grad: false);
        latent_std = new Parameter(ones(Channels), requires_grad: false);
        RegisterComponents();
    }

    /// <summary>The encoder's posterior [F, 16, H/4, W/4] twice (mean, log-variance), before normalisation.</summary>
    public (Tensor Mean, Tensor LogVar) Posterior(Tensor pixels)
    {
        Check(pixels);
        var moments = encoder.call(pad(pixels, [0, 0, 0, 0, 0, 1])).chunk(2, 1);
        return (moments[0], moments[1].clamp(-30, 20));
    }

    /// <summary>Unnormalised latents [F, 16, h, w] → pixels [F, 3, 4h, 4w] in about [−1, 1] (unclamped; the last
    /// convolution's fourth channel is dropped).</summary>
    public Tensor DecodeRaw(Tensor z) => decoder.call(z).narrow(1, 0, 3);

    /// <summary>Pixels [F, 3, H, W] in [−1, 1] (H, W multiples of 4) → normalised latents [F, 16, H/4, W/4] (the posterior mean).</summary>
    public Tensor Encode(Tensor pixels)
    {
        using var scope = NewDisposeScope();
        var (mean, _) = Posterior(pixels);
        return mean.sub(Shape(latent_mean)).div(Shape(latent_std)).MoveToOuterDisposeScope();
    }

    /// <summary>Normalised latents [F, 16, h, w] → pixels [F, 3, 4h, 4w], unclamped.</summary>
    public Tensor Decode(Tensor latents)
    {
        if (latents.dim() != 4 || latents.shape[1] != Channels)
            throw new ArgumentException($"world VAE latents must be [F, {Channels}, h, w], got [{string.Join(", ", latents.shape)}]");
        using var scope = NewDisposeScope();
        var z = latents.to(latent_std.dtype).mul(Shape(latent_std)).add(Shape(latent_mean));
        return DecodeRaw(z).MoveToOuterDisposeScope();
    }

    public override Tensor forward(Tensor pixels) => Decode(Encode(pixels));

    /// <summary>Sets the per-channel normalisation from posterior means [N, 16, h, w] of training frames.</summary>
    public void SetLatentStatistics(Tensor means)
    {
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        var perChannel = means.transpose(0, 1).reshape(Channels, -1);
        latent_mean.copy_(perChannel.mean([1]));
        latent_std.copy_(perChannel.std(1).clamp_min(1e-4));
    }

    /// <summary>Moves the weights (for a decoder on another device than the CPU).</summary>
    public void MoveTo(Device device) => this.to(device);

    /// <summary>The <c>latent_map</c> a data or model file records: the VAE file's name, or the fixed map.</summary>
    public static string LatentMap(string? vaePath) => vaePath is null ? "space-to-depth" : $"{Kind} {Path.GetFileName(vaePath)}";

    public void Save(string path, IReadOnlyDictionary<string, string> metadata)
    {
        var tensors = state_dict().ToDictionary(kv => kv.Key, kv => kv.Value);
        var meta = new Dictionary<string, string>(metadata) { ["kind"] = Kind };
        SafeTensorsWriter.Write(path, tensors, meta);
    }

    /// <summary>A file written by <see cref="Save"/> (or the <c>vae.</c> tensors of a world model file, with <paramref name="prefix"/>).</summary>
    public static WorldAutoencoder Load(string path, string prefix = "")
    {
        var vae = new WorldAutoencoder();
        using (var state = StateDict.Open(path))
        {
            var own = prefix.Length == 0 ? state : state.WithPrefix(prefix);
            own.LoadInto(vae, "world VAE");
        }
        vae.eval();
        return vae;
    }

    /// <summary>Nearest 2× by broadcasting (the same values as nearest interpolation).</summary>
    private sealed class Double2x() : Module<Tensor, Tensor>(nameof(Double2x))
    {
        public override Tensor forward(Tensor x)
        {
            long n = x.shape[0], c = x.shape[1], h = x.shape[2], w = x.shape[3];
            return x.reshape(n, c, h, 1, w, 1).expand(n, c, h, 2, w, 2).reshape(n, c, 2 * h, 2 * w);
        }
    }

    /// <summary>A 1×1 convolution as a matrix product over channels-last pixels.</summary>
    private sealed class PerPixelLinear : Module<Tensor, Tensor>
    {
        private readonly Linear proj;

        public PerPixelLinear(int inChannels, int outChannels) : base(nameof(PerPixelLinear))
        {
            proj = Linear(inChannels, outChannels);
            RegisterComponents();
        }

        public override Tensor forward(Tensor x) => proj.call(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2);
    }

    private static Tensor Shape(Tensor perChannel) => perChannel.reshape(1, Channels, 1, 1);

    private static void Check(Tensor pixels)
    {
        if (pixels.dim() != 4 || pixels.shape[1] != 3 || pixels.shape[2] % Factor != 0 || pixels.shape[3] % Factor != 0)
            throw new ArgumentException($"pixels must be [F, 3, H, W] with H and W multiples of {Factor}, got [{string.Join(", ", pixels.shape)}]");
    }
}
