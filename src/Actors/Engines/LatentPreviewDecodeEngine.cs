using TorchSharp;
using static TorchSharp.torch;

namespace SelfForcing.Actors.Engines;

/// <summary>
/// A stateless latent → RGB preview: a fixed 16 → 3 linear map, then ×8 spatial and ×4 temporal nearest
/// upsampling (the first chunk's first latent frame yields one frame, as the causal VAE does). It stands in for
/// the Wan VAE / TAEHV when no decoder weights are given; it decodes instantly and keeps no state.
/// </summary>
public sealed class LatentPreviewDecodeEngine : IDecodeEngine
{
    // Rough latent→RGB factors for Wan 2.1 latents, the kind used for live previews.
    private static readonly float[,] Factors =
    {
        { -0.1299f, -0.1692f, 0.2932f }, { 0.0671f, 0.0406f, 0.0442f }, { 0.3568f, 0.2548f, 0.1747f }, { 0.0372f, 0.2344f, 0.1420f },
        { 0.0313f, 0.0189f, -0.0328f }, { 0.0296f, -0.0956f, -0.0665f }, { -0.3477f, -0.4059f, -0.2925f }, { 0.0166f, 0.1902f, 0.1975f },
        { -0.0412f, 0.0267f, -0.1364f }, { -0.1293f, 0.0740f, 0.1636f }, { 0.0680f, 0.3019f, 0.1128f }, { 0.0032f, 0.0581f, 0.0639f },
        { -0.1251f, 0.0927f, 0.1699f }, { 0.0060f, -0.0633f, 0.0005f }, { 0.3477f, 0.2275f, 0.2950f }, { 0.1984f, 0.0913f, 0.1861f },
    };

    private sealed record State(int ChunksDecoded) : IDecoderState
    {
        public DecoderStateParts Export() => new("preview", ChunksDecoded, [], [], []);
        public void Dispose() { }
    }

    private readonly Tensor _factors;

    public Device Device { get; }
    public IReadOnlyCollection<string> Decoders { get; } = ["preview"];

    public LatentPreviewDecodeEngine(Device device)
    {
        Device = device;
        var f = new float[16 * 3];
        Buffer.BlockCopy(Factors, 0, f, 0, f.Length * sizeof(float));
        _factors = tensor(f, [16, 3]).to(device);
    }

    public IDecoderState Initial(string decoder) => decoder == "preview"
        ? new State(0)
        : throw new ArgumentException($"decoder '{decoder}' is not available; this engine has: preview");

    public IDecoderState Import(DecoderStateParts parts) =>
        parts.Decoder == "preview" && parts.ChunksDecoded >= 0 && parts.Tensors.Length == 0
            ? new State(parts.ChunksDecoded)
            : throw new ArgumentException($"not a preview decoder state ({parts.Decoder}, {parts.Tensors.Length} tensors)");

    public (Tensor Pixels, IDecoderState Next) Decode(string decoder, IDecoderState state, Tensor latents)
    {
        if (latents.dim() != 5 || latents.shape[2] != 16)
            throw new ArgumentException($"latents must be [B, F, 16, h, w], got [{string.Join(", ", latents.shape)}]");
        using var scope = NewDisposeScope();
        var x = latents.to(ScalarType.Float32, Device);
        var rgb = einsum("bfchw,cr->bfrhw", x, _factors).clamp(-1, 1); // [B, F, 3, h, w]
        var up = rgb.repeat_interleave(8, 3).repeat_interleave(8, 4).repeat_interleave(4, 1);
        if (state.ChunksDecoded == 0) up = up.narrow(1, 3, up.shape[1] - 3); // 1 + 4(F−1) frames for the first chunk
        return (up.cpu().MoveToOuterDisposeScope(), new State(state.ChunksDecoded + 1));
    }

    public void Dispose() => _factors.Dispose();
}
