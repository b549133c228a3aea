using SelfForcing.Actors.Engines;
using SelfForcing.Model.Dit;
using SelfForcing.World;
using static TorchSharp.torch;

namespace SelfForcing.Hosting.Training;

/// <summary>How often the teacher's denoising picked the caption's own word over its rivals, in total and per σ.</summary>
public sealed record WordProbeScore(string Attribute, int Right, int Total, IReadOnlyList<int> RightPerSigma)
{
    public double Accuracy => Total == 0 ? double.NaN : (double)Right / Total;
    /// <summary>What picking a word at random scores: 1 / the number of words the attribute has.</summary>
    public double Chance { get; init; }
}

/// <summary>
/// Does a teacher read the words of its captions? For each one-object clip of held-out world data, the clean latents are
/// noised at a few σ (the same noise for every rival) and denoised under the true caption and under each caption that
/// differs in one word (its colour, shape or direction); the word whose caption gives the smallest x0 error is the
/// teacher's pick. A teacher that ignores a kind of word scores chance on it. Forward passes only: a few minutes of CPU
/// where sampling and <c>eval-world</c> take longer, and no sampler settings (steps, guidance) in the way.
/// </summary>
public static class TeacherWordProbe
{
    /// <summary>
    /// Where the noisy clip still shows each frame's object: colour and shape words are readable there. A direction
    /// word adds little at these σ (the object's track is visible), so probe it at σ ≥ 0.9 too (<c>--sigmas</c>), where a
    /// sample's motion is decided.
    /// </summary>
    public static IReadOnlyList<double> DefaultSigmas { get; } = [0.2, 0.4, 0.6, 0.8];

    /// <param name="latents">[N, F, C, H, W] clean latents of the captions, in order.</param>
    /// <param name="sigmas">noise levels in (0, 1]; null = <see cref="DefaultSigmas"/>.</param>
    public static IReadOnlyList<WordProbeScore> Run(WanModel teacher, WorldTextEncodeEngine text, Tensor latents, IReadOnlyList<string> captions,
        int maxClips, long seed, Action<int>? progress = null, IReadOnlyList<double>? sigmas = null)
    {
        if (latents.dim() != 5 || latents.shape[0] != captions.Count)
            throw new ArgumentException($"{captions.Count} captions for latents [{string.Join(", ", latents.shape)}]: need [N, F, C, H, W] with one caption per clip");
        var levels = sigmas ?? DefaultSigmas;
        CheckSigmas(levels);
        var attributes = new (string Name, int Words, Func<CaptionObject, int, CaptionObject> With, Func<CaptionObject, int> Of)[]
        {
            ("colour", Enum.GetValues<ObjectColour>().Length, (o, k) => o with { Colour = (ObjectColour)k }, o => (int)o.Colour),
            ("shape", Enum.GetValues<ObjectShape>().Length, (o, k) => o with { Shape = (ObjectShape)k }, o => (int)o.Shape),
            ("direction", Enum.GetValues<MotionDirection>().Length, (o, k) => o with { Direction = (MotionDirection)k }, o => (int)o.Direction),
        };
        var right = new int[attributes.Length];
        var total = new int[attributes.Length];
        var rightPerSigma = new int[attributes.Length, levels.Count];
        var device = teacher.parameters().First().device;
        int clips = 0;
        using var noGrad = no_grad();
        for (int i = 0; i < captions.Count && clips < maxClips; i++)
        {
            var caption = CaptionGrammar.Parse(captions[i]);
            if (caption.Objects.Count != 1) continue; // with two objects a swapped word could name the other one
            using var scope = NewDisposeScope();
            var x0 = latents.narrow(0, i, 1).to(ScalarType.Float32, device);
            var gen = new Generator((ulong)(seed + i));
            var noises = levels.Select(_ => randn(x0.shape, ScalarType.Float32, CPU, generator: gen).to(device)).ToArray();
            for (int a = 0; a < attributes.Length; a++)
            {
                var (_, words, swap, of) = attributes[a];
                var errors = new double[words, levels.Count];
                for (int k = 0; k < words; k++)
                {
                    var rival = caption with { Objects = [swap(caption.Objects[0], k)] };
                    var context = text.Encode(CaptionGrammar.Render(rival)).to(device);
                    for (int s = 0; s < levels.Count; s++) errors[k, s] = X0Error(teacher, x0, noises[s], levels[s], context);
                }
                int truth = of(caption.Objects[0]);
                total[a]++;
                if (ArgMin(k => Enumerable.Range(0, levels.Count).Sum(s => errors[k, s]), words) == truth) right[a]++;
                for (int s = 0; s < levels.Count; s++)
                    if (ArgMin(k => errors[k, s], words) == truth) rightPerSigma[a, s]++;
            }
            clips++;
            progress?.Invoke(clips);
        }
        return attributes.Select((attr, a) => new WordProbeScore(attr.Name, right[a], total[a],
            Enumerable.Range(0, levels.Count).Select(s => rightPerSigma[a, s]).ToArray()) { Chance = 1.0 / attr.Words }).ToArray();
    }

    public static void CheckSigmas(IReadOnlyList<double> sigmas)
    {
        if (sigmas.Count == 0 || sigmas.Any(s => !(s > 0 && s <= 1)))
            throw new ArgumentException($"noise levels (--sigmas) {string.Join(",", sigmas)}: give one or more, each in (0, 1], e.g. 0.9,0.95");
    }

    // Mean squared x0 error of one denoising call: flow v predicts ε − x0, so x0 = x_t − σ·v.
    private static double X0Error(WanModel teacher, Tensor x0, Tensor noise, double sigma, Tensor context)
    {
        using var scope = NewDisposeScope();
        var xt = (1 - sigma) * x0 + sigma * noise;
        var t = full([1], (float)(sigma * 1000), ScalarType.Float32, x0.device);
        var flow = teacher.Forward(xt.permute(0, 2, 1, 3, 4), t, context).permute(0, 2, 1, 3, 4);
        return (xt - sigma * flow - x0).square().mean().item<float>();
    }

    private static int ArgMin(Func<int, double> value, int count)
    {
        int best = 0;
        for (int k = 1; k < count; k++) if (value(k) < value(best)) best = k;
        return best;
    }
}
