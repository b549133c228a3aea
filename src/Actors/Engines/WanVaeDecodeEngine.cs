using SelfForcing.Actors.Wire;
using SelfForcing.Model.Vae;
using TorchSharp;
using static TorchSharp.torch;

namespace SelfForcing.Actors.Engines;

/// <summary>
/// The Wan VAE behind the decode stage. Each chunk is decoded from the snapshot the job carries and yields the next
/// snapshot, so the causal-convolution cache lives in immutable messages, not in the (restartable) worker.
/// </summary>
public sealed class WanVaeDecodeEngine : IDecodeEngine
{
    private sealed class State(VaeDecoderSnapshot? snapshot, int chunks) : IDecoderState
    {
        public VaeDecoderSnapshot? Snapshot { get; } = snapshot;
        public int ChunksDecoded { get; } = chunks;
        public void Dispose() => Snapshot?.Dispose();

        public DecoderStateParts Export()
        {
            if (Snapshot is null) return new("vae", ChunksDecoded, [], [], []);
            var (kinds, frames, shape) = Snapshot.Parts();
            long[] scalars = [(long)Snapshot.Policy, Snapshot.LatentFramesDecoded, Snapshot.PixelFramesEmitted, .. shape ?? []];
            return new("vae", ChunksDecoded, scalars, kinds, frames.Select(t => t is null ? null : WireTensor.From(t)).ToArray());
        }
    }

    private readonly WanVae _vae;

    public Device Device { get; }
    public IReadOnlyCollection<string> Decoders { get; } = ["vae"];

    public WanVaeDecodeEngine(WanVae vae)
    {
        _vae = vae;
        Device = vae.Device;
    }

    public IDecoderState Initial(string decoder) => decoder == "vae"
        ? new State(null, 0)
        : throw new ArgumentException($"decoder '{decoder}' is not available; this engine has: vae");

    public IDecoderState Import(DecoderStateParts parts)
    {
        if (parts.Decoder != "vae" || parts.ChunksDecoded < 0) throw new ArgumentException($"not a Wan VAE state ({parts.Decoder})");
        if (parts.Scalars.Length == 0)
            return parts.Tensors.Length == 0 && parts.ChunksDecoded == 0 ? new State(null, 0) : throw new ArgumentException("a Wan VAE state without its counters");
        if (parts.Scalars.Length is not (3 or 6) || !Enum.IsDefined((VaeFirstFramePolicy)parts.Scalars[0]))
            throw new ArgumentException($"a Wan VAE state has 3 or 6 counters and a known first-frame policy (got {parts.Scalars.Length})");
        var frames = parts.Tensors.Select(t => t?.ToTensor(Device).to(_vae.DType).DetachFromDisposeScope()).ToArray();
        try
        {
            var snapshot = VaeDecoderSnapshot.FromParts((VaeFirstFramePolicy)parts.Scalars[0], parts.Scalars[1], parts.Scalars[2],
                parts.Scalars.Length == 6 ? parts.Scalars[3..] : null, parts.Kinds, frames);
            return new State(snapshot, parts.ChunksDecoded);
        }
        catch
        {
            foreach (var t in frames) t?.Dispose();
            throw;
        }
    }

    public (Tensor Pixels, IDecoderState Next) Decode(string decoder, IDecoderState state, Tensor latents)
    {
        var s = (State)state;
        using var stream = _vae.CreateStreamDecoder();
        if (s.Snapshot is not null) stream.Restore(s.Snapshot);
        using var scope = NewDisposeScope();
        // Pipeline layout [B, F, C, h, w] → the VAE's [B, C, F, h, w]; pixels back to [B, T, 3, H, W].
        var pixels = stream.DecodeChunk(latents.to(_vae.DType, Device).permute(0, 2, 1, 3, 4)).permute(0, 2, 1, 3, 4).cpu();
        var next = new State(stream.Snapshot(), s.ChunksDecoded + 1);
        return (pixels.MoveToOuterDisposeScope(), next);
    }

    public void Dispose() => _vae.Dispose();
}
