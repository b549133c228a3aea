using System.Diagnostics;
using System.Globalization;
using SelfForcing.Actors.Engines;
using SelfForcing.Training.Optim;
using SelfForcing.World;
using Linear = TorchSharp.Modules.Linear;
using static TorchSharp.torch;

namespace SelfForcing.Hosting.Training;

public sealed record WorldTextRunOptions(string Out, int Steps, int BatchSize, double LearningRate, long Seed, int TextLen, int TextDim)
{
    /// <summary>Share of captions with two objects: the ones that need binding.</summary>
    public double TwoObjectOdds { get; init; } = 0.5;
    public double MaxSeconds { get; init; }
}

/// <summary>How well a text encoder's tokens name their object (or background), per head, over held-out captions.</summary>
public sealed record WorldTextAccuracy(int Captions, double Colour, double Shape, double Direction, double Speed, double Background);

/// <summary>
/// <c>selfforcing train world-text</c>: trains the world's UMT5 (the same toy encoder, from the same seeded weights)
/// before any DiT sees it, as Wan's UMT5 was trained before Wan. The frozen random encoder gives a direction word
/// almost the same vector whichever object it belongs to (<c>train text-binding</c>: a swap moves the tokens a tenth of
/// a new word), and Wan's cross-attention has no text positions to recover it from. Here linear heads read each token
/// alone and must name its object's colour, shape, direction and speed (<see cref="WorldTextTargets"/>): a
/// position-free readout that only a binding encoder can satisfy. The heads are thrown away; the encoder is saved.
/// </summary>
public static class WorldTextRun
{
    /// <summary>Where the held-out captions' draws start (training draws from <c>--seed</c>).</summary>
    public const long HeldOutSeed = 7_000_000;

    public static void Run(WorldTextRunOptions o, TextWriter log)
    {
        if (o.Steps < 1) throw new ArgumentException("--steps must be at least 1");
        if (o.BatchSize < 1) throw new ArgumentException("--batch-size must be at least 1");
        if (!(o.LearningRate > 0)) throw new ArgumentException("--lr must be positive");
        if (o.MaxSeconds < 0) throw new ArgumentException("--max-seconds must not be negative");
        if (o.TextLen < WorldVocabulary.LongestCaption) throw new ArgumentException($"--text-len must hold the longest caption ({WorldVocabulary.LongestCaption} tokens)");
        if (o.TextDim < 2 || o.TextDim % 2 != 0) throw new ArgumentException("--text-dim must be an even number of at least 2 (two attention heads)");
        var world = WorldDataRunOptions.WorldFrom(WorldSettings.Default.Frames, null, null, null, null, twoObjectOdds: o.TwoObjectOdds);

        var config = WorldTextEncodeEngine.ConfigFor(o.TextLen, o.TextDim);
        manual_seed(o.Seed + 5);
        using var encoder = WorldTextEncodeEngine.Seeded(config, CPU, o.Seed);
        var heads = WorldTextTargets.Classes.Select(classes => nn.Linear(o.TextDim, classes)).ToArray();
        try
        {
            // The final norm's weight stays at one, so every token leaves at unit RMS: the scale the DiT's text embedding
            // is initialised for, whatever the heads would like.
            var parameters = encoder.named_parameters().Where(p => p.name != "norm.weight").Select(p => ("encoder." + p.name, p.parameter))
                .Concat(heads.SelectMany((h, i) => h.named_parameters().Select(p => ($"head{i}.{p.name}", p.parameter)))).ToList();
            foreach (var (_, p) in parameters) p.requires_grad_(true);
            using var optimizer = new AdamW(parameters, new AdamWSettings(o.LearningRate, WeightDecay: 0));
            var draws = new Random(unchecked((int)o.Seed) ^ 0x5eed);
            var clock = Stopwatch.StartNew();
            double recent = 0;
            int recentCount = 0, step = 1;
            log.WriteLine($"world-text: {o.Steps} steps of {o.BatchSize} captions (two objects in {o.TwoObjectOdds:P0}), UMT5 {o.TextDim} wide, text_len {o.TextLen}");
            for (; step <= o.Steps; step++)
            {
                using var scope = NewDisposeScope();
                optimizer.LearningRate = CosineRate.At(o.LearningRate, step, o.Steps, clock.Elapsed.TotalSeconds, o.MaxSeconds);
                var batch = Batch(world, draws, o.BatchSize, o.TextLen);
                foreach (var (_, p) in parameters) p.grad?.zero_();
                var loss = Loss(encoder, heads, batch);
                loss.backward();
                GradientClipping.ClipGradNorm(parameters.Select(p => (Tensor)p.Item2), 1.0);
                optimizer.Step();
                recent += loss.item<float>();
                recentCount++;
                bool stop = o.MaxSeconds > 0 && clock.Elapsed.TotalSeconds >= o.MaxSeconds;
                if (step % 100 == 0 || step == o.Steps || stop)
                {
                    double eta = clock.Elapsed.TotalSeconds / step * (o.Steps - step);
                    log.WriteLine($"world-text step {step}/{o.Steps} loss={RecipeFiles.Num(recent / recentCount)} lr={RecipeFiles.Num(optimizer.LearningRate)} eta_s={eta:F0}");
                    recent = 0;
                    recentCount = 0;
                }
                if (stop)
                {
                    log.WriteLine($"stopping after step {step} of {o.Steps}: --max-seconds {o.MaxSeconds} reached");
                    break;
                }
            }
            foreach (var (_, p) in parameters) p.requires_grad_(false);
            encoder.eval();
            using var text = new WorldTextEncodeEngine(config, CPU, encoder.named_parameters().Select(p => KeyValuePair.Create(p.name, p.parameter.detach().clone())));
            var accuracy = Accuracy(encoder, heads, world, 2000, o.TextLen);
            var binding = TextBindingProbe.Measure(text, 200, 0);
            var inv = CultureInfo.InvariantCulture;
            Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(o.Out))!);
            WorldTextFile.Save(o.Out, text, new Dictionary<string, string>
            {
                ["seed"] = o.Seed.ToString(inv), ["steps"] = Math.Min(step, o.Steps).ToString(inv), ["two_object_odds"] = o.TwoObjectOdds.ToString("R", inv),
                ["held_out_accuracy"] = Describe(accuracy), ["binding"] = TextBindingProbe.Describe(binding),
            });
            log.WriteLine($"held-out captions ({accuracy.Captions}), tokens naming their object's: {Describe(accuracy)}");
            log.WriteLine($"text-binding of the trained encoder: {TextBindingProbe.Describe(binding)}");
            log.WriteLine($"saved {o.Out} ({new FileInfo(o.Out).Length / 1024} KiB)");
        }
        finally
        {
            foreach (var h in heads) h.Dispose();
        }
    }

    public static string Describe(WorldTextAccuracy a) => FormattableString.Invariant(
        $"colour {a.Colour:P1}, shape {a.Shape:P1}, direction {a.Direction:P1}, speed {a.Speed:P1}, background {a.Background:P1}");

    /// <summary>Per-head share of targeted tokens the heads name right, over <paramref name="count"/> captions drawn from <see cref="HeldOutSeed"/>.</summary>
    public static WorldTextAccuracy Accuracy(Model.Text.T5Encoder encoder, Linear[] heads, WorldSettings world, int count, int textLen)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var batch = Batch(world, new Random((int)HeldOutSeed), count, textLen);
        var hidden = encoder.forward(batch.Ids, batch.Mask);
        var shares = heads.Select((h, i) =>
        {
            var target = batch.Targets[i];
            var scored = target.ne(WorldTextTargets.Ignore);
            var right = h.forward(hidden).argmax(-1).eq(target).logical_and(scored);
            return right.sum().item<long>() / (double)scored.sum().item<long>();
        }).ToArray();
        return new WorldTextAccuracy(count, shares[0], shares[1], shares[2], shares[3], shares[4]);
    }

    private sealed record CaptionBatch(Tensor Ids, Tensor Mask, Tensor[] Targets);

    private static CaptionBatch Batch(WorldSettings world, Random rng, int count, int textLen)
    {
        var ids = new long[count * textLen];
        var mask = new long[count * textLen];
        var targets = WorldTextTargets.Classes.Select(_ => new long[count * textLen]).ToArray();
        for (int b = 0; b < count; b++)
        {
            var caption = CaptionGrammar.Draw(WorldSceneSampler.Sample(world, rng), world, rng);
            var tokens = WorldVocabulary.Tokenize(CaptionGrammar.Render(caption), textLen);
            var t = WorldTextTargets.Of(caption, textLen);
            Array.Copy(tokens.Ids, 0, ids, b * textLen, textLen);
            Array.Copy(tokens.Mask, 0, mask, b * textLen, textLen);
            var byHead = t.ByHead;
            for (int head = 0; head < byHead.Length; head++) Array.Copy(byHead[head], 0, targets[head], b * textLen, textLen);
        }
        return new CaptionBatch(tensor(ids, [count, textLen]), tensor(mask, [count, textLen]),
            targets.Select(v => tensor(v, [count, textLen])).ToArray());
    }

    private static Tensor Loss(Model.Text.T5Encoder encoder, Linear[] heads, CaptionBatch batch)
    {
        var hidden = encoder.Trainable(batch.Ids, batch.Mask);
        Tensor? total = null;
        for (int i = 0; i < heads.Length; i++)
        {
            var logits = heads[i].forward(hidden);
            var loss = nn.functional.cross_entropy(logits.reshape(-1, logits.shape[^1]), batch.Targets[i].reshape(-1), ignore_index: WorldTextTargets.Ignore);
            total = total is null ? loss : total.add(loss);
        }
        return total!;
    }
}
