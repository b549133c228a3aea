using System.Globalization;
using TorchSharp;
using SelfForcing.Training.Ode;

namespace SelfForcing.Hosting.Training;

public sealed record OdePairsRunOptions(string Teacher, string Prompts, string Out, int Frames, int Height, int Width, int Steps, double Shift,
    double Guidance, long Seed, int BatchSize)
{
    /// <summary>Only the first this many prompts (0 = all).</summary>
    public int Count { get; init; }
    /// <summary>Where the teacher runs ("cpu", "cuda", "cuda:N"); the noise is drawn on the CPU either way.</summary>
    public string Device { get; init; } = "cpu";
}

/// <summary>
/// <c>selfforcing train ode-pairs</c>: runs a teacher folder's deterministic Euler ODE from seeded noise for every prompt
/// embedding of a safetensors file (<c>prompt_embeds</c> [N, L, D]; with <c>negative_prompt_embeds</c> [1, L, D] the
/// sampler uses classifier-free guidance) and writes an ODE-pairs file for <c>train ode-init</c>.
/// </summary>
public static class OdePairsRun
{
    public static void Run(OdePairsRunOptions o, TextWriter log)
    {
        if (o.Frames < 1 || o.Height < 1 || o.Width < 1) throw new ArgumentException("--frames, --height and --width must be positive");
        var device = Model.TorchRuntime.ParseDevice(o.Device);
        using var teacher = RecipeFiles.LoadTeacher(o.Teacher);
        teacher.to(device);
        var input = RecipeFiles.ReadTensors(o.Prompts, ["prompt_embeds"], ["negative_prompt_embeds"]);
        input.TryGetValue("negative_prompt_embeds", out var negative);
        var settings = new OdePairSettings { Steps = o.Steps, Shift = o.Shift, GuidanceScale = o.Guidance, BatchSize = o.BatchSize }.Validate();
        long[] shape = [o.Frames, teacher.Config.InDim, o.Height, o.Width];
        var prompts = input["prompt_embeds"];
        if (o.Count > 0 && o.Count < prompts.shape[0]) prompts = prompts.narrow(0, 0, o.Count);
        long n = prompts.shape[0];
        using var pairs = OdePairGenerator.Generate(teacher, prompts, negative, shape, o.Seed, settings,
            done => log.WriteLine($"ode-pairs {done}/{n}"));
        var inv = CultureInfo.InvariantCulture;
        pairs.Save(o.Out, new Dictionary<string, string>
        {
            ["seed"] = o.Seed.ToString(inv), ["steps"] = o.Steps.ToString(inv), ["shift"] = o.Shift.ToString(inv),
            ["guidance_scale"] = negative is null ? "none" : o.Guidance.ToString(inv),
        });
        log.WriteLine($"saved {o.Out}: {n} trajectories at t = {OdePairs.Describe(pairs.TimestepValues)} and clean");
    }
}
