using System.Globalization;
using SelfForcing.Actors.Engines;
using SelfForcing.Model.Checkpoints;
using SelfForcing.World;
using static TorchSharp.torch;

namespace SelfForcing.Hosting.Training;

public sealed record WorldDataRunOptions(string Out, int Count, long Seed, int Frames, int TextLen, int TextDim, long TextSeed)
{
    /// <summary>Speeds as fractions of the width per frame, and bounce-free lead frames; null keeps <see cref="WorldSettings.Default"/>'s.</summary>
    public double? SlowSpeed { get; init; }
    public double? FastSpeed { get; init; }
    public int? LeadFrames { get; init; }
    public int? TrailFrames { get; init; }
    public double? StartJitter { get; init; }
    public double? TwoObjectOdds { get; init; }
    /// <summary>A <c>train world-vae</c> file: latents through its encoder instead of <see cref="WorldLatents"/>.</summary>
    public string? Vae { get; init; }
    /// <summary>A <c>train world-text</c> file (or a world model file): its encoder instead of the frozen one of <see cref="TextSeed"/>.</summary>
    public string? Text { get; init; }

    /// <summary>The captions' encoder: <see cref="Text"/>'s, or the frozen one of <see cref="TextSeed"/>.</summary>
    public static WorldTextEncodeEngine TextEncoder(string? text, long textSeed, int textLen, int textDim)
    {
        if (text is null) return new WorldTextEncodeEngine(WorldTextEncodeEngine.ConfigFor(textLen, textDim), CPU, textSeed);
        var engine = WorldTextFile.Load(text, CPU);
        if (engine.Config.TextLen != textLen || engine.Config.Dim != textDim)
        {
            var (len, dim) = (engine.Config.TextLen, engine.Config.Dim);
            engine.Dispose();
            throw new ArgumentException($"--text {text} is {dim} wide with text_len {len}, but --text-dim {textDim} --text-len {textLen} were asked for");
        }
        return engine;
    }

    /// <summary>The world these options draw from; an impossible combination is refused naming the flags.</summary>
    public WorldSettings World() => WorldFrom(Frames, SlowSpeed, FastSpeed, LeadFrames, TrailFrames, StartJitter, TwoObjectOdds);

    /// <summary>The world of the <c>--frames --slow-speed --fast-speed --lead-frames --trail-frames --start-jitter --two-object-odds</c> flags (null = default).</summary>
    public static WorldSettings WorldFrom(int frames, double? slowSpeed, double? fastSpeed, int? leadFrames, int? trailFrames, double? startJitter = null,
        double? twoObjectOdds = null)
    {
        var d = WorldSettings.Default;
        var w = d with { Frames = frames, SlowSpeed = slowSpeed ?? d.SlowSpeed, FastSpeed = fastSpeed ?? d.FastSpeed, LeadFrames = leadFrames ?? d.LeadFrames,
            TrailFrames = trailFrames ?? d.TrailFrames, StartJitter = startJitter ?? d.StartJitter,
            TwoObjectOdds = twoObjectOdds ?? d.TwoObjectOdds };
        try { return w.Validate(); }
        catch (ArgumentException e)
        {
            throw new ArgumentException($"--frames {w.Frames}, --slow-speed {w.SlowSpeed}, --fast-speed {w.FastSpeed}, --lead-frames {w.LeadFrames}, --trail-frames {w.TrailFrames}, --start-jitter {w.StartJitter}, --two-object-odds {w.TwoObjectOdds}: {e.Message}");
        }
    }
}

/// <summary>
/// <c>selfforcing train world-data</c>: the tiny world as a training set for <c>train teacher</c> / <c>ode-pairs</c> /
/// DMD — clips of seeds SEED … SEED+N−1 as <c>latents</c> [N, F, 16, h, w] (<see cref="WorldLatents"/>, or a
/// <see cref="WorldAutoencoder"/>'s with <c>--vae</c>), their captions
/// through <see cref="WorldTextEncodeEngine"/> as <c>prompt_embeds</c> [N, L, D], and the empty caption as
/// <c>negative_prompt_embeds</c> [1, L, D] (the unconditional branch of condition dropout and CFG). The captions go in
/// the file's metadata, one per line, so a run can be checked against them.
/// </summary>
public static class WorldDataRun
{
    /// <summary>The unconditional prompt: no words, so the encoder sees only the end token.</summary>
    public const string Unconditional = "";

    public static void Run(WorldDataRunOptions o, TextWriter log)
    {
        if (o.Count < 1) throw new ArgumentException("--count must be at least 1");
        if (o.TextLen < WorldVocabulary.LongestCaption) throw new ArgumentException($"--text-len must hold the longest caption ({WorldVocabulary.LongestCaption} tokens)");
        var settings = o.World();
        using var encoder = WorldDataRunOptions.TextEncoder(o.Text, o.TextSeed, o.TextLen, o.TextDim);
        using var vae = o.Vae is null ? null : WorldAutoencoder.Load(o.Vae);
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var latents = new List<Tensor>(o.Count);
        var prompts = new List<Tensor>(o.Count);
        var captions = new List<string>(o.Count);
        for (long s = o.Seed; s < o.Seed + o.Count; s++)
        {
            var video = WorldVideo.Sample(settings, s);
            var caption = CaptionGrammar.Render(video.Caption);
            latents.Add(vae is null ? WorldLatents.Encode(video.Frames) : vae.Encode(WorldLatents.Pixels(video.Frames)));
            prompts.Add(encoder.Encode(caption));
            captions.Add(caption);
        }
        var negative = encoder.Encode(Unconditional);
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(o.Out))!);
        var inv = CultureInfo.InvariantCulture;
        SafeTensorsWriter.Write(o.Out, new Dictionary<string, Tensor>
        {
            ["latents"] = stack(latents), ["prompt_embeds"] = cat(prompts), ["negative_prompt_embeds"] = negative,
        }, new Dictionary<string, string>
        {
            ["seed"] = o.Seed.ToString(inv), ["count"] = o.Count.ToString(inv), ["frames"] = o.Frames.ToString(inv),
            ["text_seed"] = o.TextSeed.ToString(inv),
            ["slow_speed"] = settings.SlowSpeed.ToString("R", inv), ["fast_speed"] = settings.FastSpeed.ToString("R", inv),
            ["lead_frames"] = settings.LeadFrames.ToString(inv), ["trail_frames"] = settings.TrailFrames.ToString(inv),
            ["start_jitter"] = settings.StartJitter.ToString("R", inv), ["two_object_odds"] = settings.TwoObjectOdds.ToString("R", inv),
            ["text_init"] = o.Text is null ? WorldTextEncodeEngine.SeedInit : "trained:" + Path.GetFileName(o.Text), ["latent_map"] = WorldAutoencoder.LatentMap(o.Vae), ["captions"] = string.Join('\n', captions),
        });
        log.WriteLine($"saved {o.Out}: {o.Count} clips of {o.Frames} frames ({settings.Width}x{settings.Height}), seeds {o.Seed}..{o.Seed + o.Count - 1}");
    }
}
