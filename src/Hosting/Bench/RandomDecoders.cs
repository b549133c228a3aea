using SelfForcing.Actors.Engines;
using SelfForcing.Model.Taehv;
using SelfForcing.Model.Vae;
using static TorchSharp.torch;

namespace SelfForcing.Hosting.Bench;

/// <summary>Random-weight decoders at the bench's named sizes: speed does not depend on the weights' values.</summary>
public static class RandomDecoders
{
    public static readonly IReadOnlyDictionary<string, (WanVaeConfig Vae, TaehvConfig Taehv)> Sizes = new Dictionary<string, (WanVaeConfig, TaehvConfig)>
    {
        ["tiny"] = (WanVaeConfig.Wan21 with { Dim = 8, DimMult = [1, 2, 2, 2], NumResBlocks = 1 }, TaehvConfig.Wan21 with { NF = [32, 16, 8, 8] }),
        ["mid"] = (WanVaeConfig.Wan21 with { Dim = 32 }, TaehvConfig.Wan21 with { NF = [128, 64, 32, 32] }),
        ["real"] = (WanVaeConfig.Wan21, TaehvConfig.Wan21),
    };

    private static (WanVaeConfig Vae, TaehvConfig Taehv) Size(string size) =>
        Sizes.TryGetValue(size, out var cfg) ? cfg : throw new ArgumentException($"unknown decoder size '{size}' (tiny, mid, real)");

    public static WanVae Vae(string size)
    {
        var vae = new WanVae(Size(size).Vae, includeEncoder: false);
        vae.InitializeRandom(1);
        return vae;
    }

    public static TaehvDecoder Taehv(string size)
    {
        var taehv = new TaehvDecoder(Size(size).Taehv);
        var g = new Generator(1);
        using var noGrad = no_grad();
        foreach (var (_, p) in taehv.named_parameters())
        {
            using var init = NewDisposeScope();
            p.copy_(randn(p.shape, generator: g) * 0.05);
        }
        return taehv;
    }

    /// <summary>The decode stage's engine for <paramref name="decoder"/> (vae, taehv or preview), on the CPU.</summary>
    public static IDecodeEngine Engine(string decoder, string size) => decoder switch
    {
        "vae" => new WanVaeDecodeEngine(Vae(size)),
        "taehv" => new TaehvDecodeEngine(Taehv(size)),
        "preview" => new LatentPreviewDecodeEngine(CPU),
        _ => throw new ArgumentException($"unknown decoder '{decoder}' (vae, taehv, preview)"),
    };
}
