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

    public static WanVae Vae(string size, Device? device = null)
    {
        var vae = new WanVae(Size(size).Vae, device, includeEncoder: false);
        vae.InitializeRandom(1);
        return vae;
    }

    public static TaehvDecoder Taehv(string size, Device? device = null)
    {
        var taehv = new TaehvDecoder(Size(size).Taehv, device);
        var g = new Generator(1);
        using var noGrad = no_grad();
        foreach (var (_, p) in taehv.named_parameters())
        {
            using var init = NewDisposeScope();
            p.copy_(randn(p.shape, generator: g) * 0.05);
        }
        return taehv;
    }

    /// <summary>The decode stage's engine for <paramref name="decoder"/> (vae, taehv or preview), float32 on <paramref name="device"/>.</summary>
    public static IDecodeEngine Engine(string decoder, string size, Device device) => decoder switch
    {
        "vae" => new WanVaeDecodeEngine(Vae(size, device)),
        "taehv" => new TaehvDecodeEngine(Taehv(size, device)),
        "preview" => new LatentPreviewDecodeEngine(device),
        _ => throw new ArgumentException($"unknown decoder '{decoder}' (vae, taehv, preview)"),
    };
}
