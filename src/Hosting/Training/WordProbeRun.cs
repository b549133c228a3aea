using System.Globalization;
using SelfForcing.Actors.Engines;
using SelfForcing.Model.Checkpoints;
using TorchSharp;
using static TorchSharp.torch;

namespace SelfForcing.Hosting.Training;

public sealed record WordProbeRunOptions(string Teacher, string Data, int Count, long Seed)
{
    public string Device { get; init; } = "cpu";
    /// <summary>The first N frames of each clip (0 = all).</summary>
    public int Frames { get; init; }
    /// <summary>Every K-th frame from the first, before <see cref="Frames"/> counts (as the teacher was trained).</summary>
    public int FrameStride { get; init; } = 1;
    /// <summary>Noise levels to probe at; null = <see cref="TeacherWordProbe.DefaultSigmas"/>.</summary>
    public IReadOnlyList<double>? Sigmas { get; init; }
    /// <summary>The <c>train world-text</c> file the data's captions went through (world-data <c>--text</c>); null: the frozen encoder of the file's text seed.</summary>
    public string? Text { get; init; }
}

/// <summary>
/// <c>selfforcing train word-probe</c>: <see cref="TeacherWordProbe"/> over a <c>train world-data</c> file of held-out
/// captions (e.g. <c>--seed 9000000</c>), printing each attribute's accuracy beside chance.
/// </summary>
public static class WordProbeRun
{
    public static IReadOnlyList<WordProbeScore> Run(WordProbeRunOptions o, TextWriter log)
    {
        if (o.Count < 1) throw new ArgumentException("--count must be at least 1");
        if (o.Frames < 0) throw new ArgumentException("--frames must not be negative");
        var sigmas = o.Sigmas ?? TeacherWordProbe.DefaultSigmas;
        TeacherWordProbe.CheckSigmas(sigmas);
        string[] captions;
        long textSeed;
        using (var file = SafeTensorsFile.Open(o.Data))
        {
            if (!file.Metadata.TryGetValue("captions", out var captionText) || !file.Metadata.TryGetValue("text_seed", out var seedText))
                throw new ArgumentException($"{o.Data}: no captions/text_seed metadata; make it with train world-data");
            captions = captionText.Split('\n');
            textSeed = long.Parse(seedText, CultureInfo.InvariantCulture);
        }
        var data = RecipeFiles.ReadTensors(o.Data, ["latents", "prompt_embeds"], []);
        var latents = data["latents"];
        var embeds = data["prompt_embeds"];
        if (latents.shape[0] != captions.Length || embeds.dim() != 3 || embeds.shape[0] != captions.Length)
            throw new ArgumentException($"{o.Data}: {captions.Length} captions for latents [{string.Join(", ", latents.shape)}] and prompt_embeds [{string.Join(", ", embeds.shape)}]");
        latents = RecipeFiles.FirstFrames(latents, o.Frames, o.Data, o.FrameStride);

        using var text = WorldDataRunOptions.TextEncoder(o.Text, textSeed, (int)embeds.shape[1], (int)embeds.shape[2]);
        // The rivals are encoded here, so this encoder must be the one the file's captions went through.
        using (var first = text.Encode(captions[0]))
        {
            double error = first[0].sub(embeds[0]).abs().max().item<float>(), scale = embeds[0].abs().max().item<float>();
            if (!(error <= 1e-4 * Math.Max(scale, 1e-6)))
                throw new ArgumentException($"{o.Data}: the world text encoder {(o.Text is null ? $"of text seed {textSeed}" : o.Text)} does not reproduce its caption embeddings " +
                    $"(max difference {error:G3} at scale {scale:G3}); the file was made by another encoder — give its world-data --text, or make it again");
        }

        var device = Model.TorchRuntime.ParseDevice(o.Device);
        using var teacher = RecipeFiles.LoadTeacher(o.Teacher);
        teacher.to(device);
        teacher.eval();
        log.WriteLine($"word probe: {o.Teacher} on up to {o.Count} one-object clips of {o.Data}, sigma {string.Join(", ", sigmas)}");
        var scores = TeacherWordProbe.Run(teacher, text, latents, captions, o.Count, o.Seed,
            clips => { if (clips % 10 == 0) log.WriteLine($"  {clips} clips"); }, sigmas);
        foreach (var s in scores)
        {
            var bySigma = string.Join("  ", sigmas.Select((sigma, k) =>
                $"{sigma.ToString(CultureInfo.InvariantCulture)}: {100.0 * s.RightPerSigma[k] / Math.Max(1, s.Total):F0}%"));
            log.WriteLine($"{s.Attribute,-10} {100 * s.Accuracy,5:F1}%  ({s.Right}/{s.Total}; chance {100 * s.Chance:F0}%)   by sigma  {bySigma}");
        }
        return scores;
    }
}
