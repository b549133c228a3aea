using System.Text.Json;

namespace SelfForcing.Model.Vae;

/// <summary>
/// Hyper-parameters of <c>WanVAE_</c> (wan/modules/vae.py) plus the per-channel latent normalisation constants
/// that <c>WanVAEWrapper</c> applies around it.
/// </summary>
public sealed record WanVaeConfig
{
    public int Dim { get; init; } = 96;
    public int ZDim { get; init; } = 16;
    public IReadOnlyList<int> DimMult { get; init; } = [1, 2, 4, 4];
    public int NumResBlocks { get; init; } = 2;
    public IReadOnlyList<double> AttnScales { get; init; } = [];
    public IReadOnlyList<bool> TemperalDownsample { get; init; } = [false, true, true];
    public double Dropout { get; init; }
    public IReadOnlyList<float> LatentMean { get; init; } = Wan21Mean;
    public IReadOnlyList<float> LatentStd { get; init; } = Wan21Std;

    /// <summary>The decoder mirrors the encoder's temporal schedule (reference: <c>temperal_downsample[::-1]</c>).</summary>
    public IReadOnlyList<bool> TemperalUpsample => TemperalDownsample.Reverse().ToArray();

    /// <summary>Pixel frames per latent frame after the first one (2 per temporal resample stage).</summary>
    public int TemporalScale => 1 << TemperalDownsample.Count(b => b);

    public int SpatialScale => 1 << (DimMult.Count - 1);

    private static readonly float[] Wan21Mean =
    [
        -0.7571f, -0.7089f, -0.9113f, 0.1075f, -0.1745f, 0.9653f, -0.1517f, 1.5508f,
        0.4134f, -0.0715f, 0.5517f, -0.3632f, -0.1922f, -0.9497f, 0.2503f, -0.2921f,
    ];

    private static readonly float[] Wan21Std =
    [
        2.8184f, 1.4541f, 2.3275f, 2.6558f, 1.2196f, 1.7708f, 2.6052f, 2.0743f,
        3.2687f, 2.1526f, 2.8652f, 1.5579f, 1.6382f, 1.1253f, 2.8251f, 1.9160f,
    ];

    /// <summary>The VAE shipped as <c>Wan2.1_VAE.pth</c> (reference <c>_video_vae</c>).</summary>
    public static WanVaeConfig Wan21 { get; } = new();

    /// <summary>
    /// Reads the reference's keyword names (<c>dim</c>, <c>z_dim</c>, <c>dim_mult</c>, <c>num_res_blocks</c>,
    /// <c>attn_scales</c>, <c>temperal_downsample</c>, <c>dropout</c>, optional <c>mean</c>/<c>std</c>); missing
    /// keys keep the Wan 2.1 values.
    /// </summary>
    public static WanVaeConfig FromJson(JsonElement json)
    {
        var c = new WanVaeConfig();
        if (json.TryGetProperty("dim", out var v)) c = c with { Dim = v.GetInt32() };
        if (json.TryGetProperty("z_dim", out v)) c = c with { ZDim = v.GetInt32() };
        if (json.TryGetProperty("dim_mult", out v)) c = c with { DimMult = v.EnumerateArray().Select(e => e.GetInt32()).ToArray() };
        if (json.TryGetProperty("num_res_blocks", out v)) c = c with { NumResBlocks = v.GetInt32() };
        if (json.TryGetProperty("attn_scales", out v)) c = c with { AttnScales = v.EnumerateArray().Select(e => e.GetDouble()).ToArray() };
        if (json.TryGetProperty("temperal_downsample", out v))
            c = c with { TemperalDownsample = v.EnumerateArray().Select(e => e.GetBoolean()).ToArray() };
        if (json.TryGetProperty("dropout", out v)) c = c with { Dropout = v.GetDouble() };
        if (json.TryGetProperty("mean", out v)) c = c with { LatentMean = v.EnumerateArray().Select(e => e.GetSingle()).ToArray() };
        if (json.TryGetProperty("std", out v)) c = c with { LatentStd = v.EnumerateArray().Select(e => e.GetSingle()).ToArray() };
        c.Validate();
        return c;
    }

    public void Validate()
    {
        if (Dim <= 0 || ZDim <= 0 || NumResBlocks <= 0)
            throw new ArgumentException($"WanVaeConfig: dim ({Dim}), z_dim ({ZDim}) and num_res_blocks ({NumResBlocks}) must be positive.");
        if (DimMult.Count < 2)
            throw new ArgumentException($"WanVaeConfig: dim_mult needs at least 2 entries, got {DimMult.Count}.");
        if (TemperalDownsample.Count != DimMult.Count - 1)
            throw new ArgumentException(
                $"WanVaeConfig: temperal_downsample has {TemperalDownsample.Count} entries, dim_mult {DimMult.Count}; expected dim_mult - 1.");
        if (LatentMean.Count != ZDim || LatentStd.Count != ZDim)
            throw new ArgumentException(
                $"WanVaeConfig: mean/std need z_dim = {ZDim} entries, got {LatentMean.Count}/{LatentStd.Count}.");
    }
}
