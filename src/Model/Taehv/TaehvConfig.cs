using System.Text.Json;

namespace SelfForcing.Model.Taehv;

/// <summary>TAEHV decoder shape (madebyollin's TAEHV, as vendored in demo_utils/taehv.py).</summary>
public sealed record TaehvConfig
{
    public IReadOnlyList<int> NF { get; init; } = [256, 128, 64, 64];
    public int LatentChannels { get; init; } = 16;
    public int ImageChannels { get; init; } = 3;
    public IReadOnlyList<bool> DecoderTimeUpscale { get; init; } = [true, true];
    public IReadOnlyList<bool> DecoderSpaceUpscale { get; init; } = [true, true, true];

    /// <summary>taew2_1.pth.</summary>
    public static TaehvConfig Wan21 { get; } = new();

    /// <summary>Warm-up frames at the start of a decoded video: 2^(time upscales) − 1.</summary>
    public int FramesToTrim => (1 << DecoderTimeUpscale.Count(b => b)) - 1;
    public int TimeScale => 1 << DecoderTimeUpscale.Count(b => b);

    public static TaehvConfig FromJson(JsonElement e)
    {
        var c = new TaehvConfig();
        if (e.TryGetProperty("n_f", out var nf)) c = c with { NF = nf.EnumerateArray().Select(x => x.GetInt32()).ToArray() };
        if (e.TryGetProperty("latent_channels", out var lc)) c = c with { LatentChannels = lc.GetInt32() };
        if (e.TryGetProperty("image_channels", out var ic)) c = c with { ImageChannels = ic.GetInt32() };
        if (e.TryGetProperty("decoder_time_upscale", out var tu)) c = c with { DecoderTimeUpscale = tu.EnumerateArray().Select(x => x.GetBoolean()).ToArray() };
        if (e.TryGetProperty("decoder_space_upscale", out var su)) c = c with { DecoderSpaceUpscale = su.EnumerateArray().Select(x => x.GetBoolean()).ToArray() };
        return c.Validate();
    }

    public TaehvConfig Validate()
    {
        if (NF.Count != 4 || NF.Any(n => n <= 0)) throw new ArgumentException("TAEHV n_f must be 4 positive channel counts");
        if (DecoderTimeUpscale.Count != 2 || DecoderSpaceUpscale.Count != 3) throw new ArgumentException("TAEHV needs 2 time and 3 space upscale flags");
        if (LatentChannels <= 0 || ImageChannels <= 0) throw new ArgumentException("TAEHV channel counts must be positive");
        return this;
    }
}
