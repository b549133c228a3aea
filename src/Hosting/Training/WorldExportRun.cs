using System.Globalization;
using SelfForcing.Actors.Engines;
using SelfForcing.Model.Checkpoints;
using SelfForcing.Model.Dit;
using SelfForcing.World;
using static TorchSharp.torch;

namespace SelfForcing.Hosting.Training;

public sealed record WorldExportRunOptions(string Checkpoint, bool UseEma, long TextSeed, int TextLen, int TextDim, string Out)
{
    /// <summary>The <c>train world-vae</c> file whose latents the generator was trained on; it ships in the file.</summary>
    public string? Vae { get; init; }
    /// <summary>The <c>train world-text</c> file the captions were encoded with; null: the frozen encoder of <see cref="TextSeed"/>.</summary>
    public string? Text { get; init; }
}

/// <summary>
/// <c>selfforcing train world-export</c>: a DMD (or ODE-init) checkpoint folder's generator — its EMA when it has one and
/// <c>--use-ema</c> — and the world text encoder of <c>--text-seed</c>, as one <see cref="WorldModelFile"/>.
/// </summary>
public static class WorldExportRun
{
    public static void Run(WorldExportRunOptions o, TextWriter log)
    {
        var config = RecipeFiles.ReadConfig(Path.Combine(o.Checkpoint, RecipeFiles.ConfigFile));
        var group = o.UseEma && File.Exists(Path.Combine(o.Checkpoint, "generator_ema.safetensors")) ? "generator_ema" : "generator";
        using var generator = new CausalWanModel(config);
        using (var state = StateDict.Open(Path.Combine(o.Checkpoint, group + ".safetensors"))) state.WithPrefix("model.").LoadInto(generator, group);
        using var text = WorldDataRunOptions.TextEncoder(o.Text, o.TextSeed, o.TextLen, o.TextDim);
        using var vae = o.Vae is null ? null : WorldAutoencoder.Load(o.Vae);
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(o.Out))!);
        WorldModelFile.Save(o.Out, generator, text, new Dictionary<string, string>
        {
            ["source"] = $"{Path.GetFileName(Path.GetFullPath(o.Checkpoint))}/{group}", ["text_seed"] = o.TextSeed.ToString(CultureInfo.InvariantCulture),
            ["text_encoder"] = o.Text is null ? WorldTextEncodeEngine.SeedInit : "trained:" + Path.GetFileName(o.Text),
            ["latent_map"] = WorldAutoencoder.LatentMap(o.Vae),
        }, vae);
        log.WriteLine($"saved {o.Out} ({new FileInfo(o.Out).Length / 1024} KiB): {group} of {o.Checkpoint} + the world text encoder ({(o.Text is null ? $"seed {o.TextSeed}" : o.Text)})" + (vae is null ? "" : $" + the world VAE {o.Vae}"));
    }
}
