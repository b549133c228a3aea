using SelfForcing.World;
using static TorchSharp.torch;

namespace SelfForcing.Actors.Engines;

/// <summary>
/// The tiny world's decoder ("world"): <see cref="WorldLatents.Decode"/> (depth-to-space, exact) — or, for a model of a
/// world VAE's latents, that VAE's decoder, frame by frame — and a nearest-neighbour enlargement by
/// <see cref="DisplayScale"/> so a 32×32 world is watchable (and H.264's half-resolution chroma falls on whole world
/// pixels). One video frame per latent frame, so the state only counts chunks.
/// </summary>
public sealed class WorldDecodeEngine : IDecodeEngine
{
    private readonly WorldAutoencoder? _vae;

    /// <param name="vae">Owned by the engine from here; moved to <paramref name="device"/>.</param>
    public WorldDecodeEngine(Device device, int displayScale = 2, WorldAutoencoder? vae = null)
    {
        Device = device;
        DisplayScale = displayScale >= 1 ? displayScale : throw new ArgumentException($"display scale must be at least 1, got {displayScale}");
        _vae = vae;
        _vae?.MoveTo(device);
    }

    public const string Name = "world";

    private sealed record State(int ChunksDecoded) : IDecoderState
    {
        public DecoderStateParts Export() => new(Name, ChunksDecoded, [], [], []);
        public void Dispose() { }
    }

    public Device Device { get; }
    public int DisplayScale { get; }
    public IReadOnlyCollection<string> Decoders { get; } = [Name];

    public IDecoderState Initial(string decoder) => decoder == Name
        ? new State(0)
        : throw new ArgumentException($"decoder '{decoder}' is not available; this engine has: {Name}");

    public IDecoderState Import(DecoderStateParts parts) =>
        parts.Decoder == Name && parts.ChunksDecoded >= 0 && parts.Tensors.Length == 0
            ? new State(parts.ChunksDecoded)
            : throw new ArgumentException($"not a world decoder state ({parts.Decoder}, {parts.Tensors.Length} tensors)");

    public (Tensor Pixels, IDecoderState Next) Decode(string decoder, IDecoderState state, Tensor latents)
    {
        if (decoder != Name) throw new ArgumentException($"decoder '{decoder}' is not available; this engine has: {Name}");
        if (latents.dim() != 5 || latents.shape[2] != WorldLatents.Channels)
            throw new ArgumentException($"latents must be [B, F, {WorldLatents.Channels}, h, w], got [{string.Join(", ", latents.shape)}]");
        using var scope = NewDisposeScope();
        long b = latents.shape[0], f = latents.shape[1];
        var x = latents.to(ScalarType.Float32, Device).reshape(b * f, latents.shape[2], latents.shape[3], latents.shape[4]);
        Tensor pixels;
        if (_vae is null) pixels = WorldLatents.Decode(x).clamp(-1, 1);
        else using (no_grad()) pixels = _vae.Decode(x).clamp(-1, 1);
        if (DisplayScale > 1) pixels = pixels.repeat_interleave(DisplayScale, 2).repeat_interleave(DisplayScale, 3);
        var result = pixels.reshape(b, f, 3, pixels.shape[2], pixels.shape[3]).cpu();
        return (result.MoveToOuterDisposeScope(), new State(state.ChunksDecoded + 1));
    }

    public void Dispose() => _vae?.Dispose();
}
