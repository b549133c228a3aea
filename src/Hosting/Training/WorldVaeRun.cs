using System.Diagnostics;
using System.Globalization;
using SelfForcing.Training.Optim;
using SelfForcing.World;
using SelfForcing.World.Evaluation;
using static TorchSharp.torch;

namespace SelfForcing.Hosting.Training;

public sealed record WorldVaeRunOptions(string Out, WorldSettings World, int Clips, long Seed, int Steps, int BatchSize, double LearningRate,
    double KlWeight)
{
    /// <summary>Stop after the step that passes this many seconds (0 = no limit) and save.</summary>
    public double MaxSeconds { get; init; }
}

/// <summary>
/// <c>selfforcing train world-vae</c>: the <see cref="WorldAutoencoder"/> trained on the frames of world clips (seeds
/// SEED …): per-pixel squared error plus a small KL term (a smooth latent space is what the DiT then learns to draw
/// in), AdamW with a cosine rate; then the per-channel latent statistics, and the error on clips it never saw.
/// </summary>
public static class WorldVaeRun
{
    /// <summary>Where the held-out check's clips start: far from any training seed of the recipe.</summary>
    public const long HeldOutSeed = 8_000_000;

    public static void Run(WorldVaeRunOptions o, TextWriter log)
    {
        if (o.Clips < 1) throw new ArgumentException("--count must be at least 1");
        if (o.Steps < 1) throw new ArgumentException("--steps must be at least 1");
        if (o.BatchSize < 1) throw new ArgumentException("--batch-size must be at least 1");
        if (!(o.KlWeight >= 0)) throw new ArgumentException("--kl-weight must not be negative");
        if (o.MaxSeconds < 0) throw new ArgumentException("--max-seconds must not be negative");
        if (o.World.Width % WorldAutoencoder.Factor != 0 || o.World.Height % WorldAutoencoder.Factor != 0)
            throw new ArgumentException($"the world's {o.World.Width}x{o.World.Height} frames must be multiples of {WorldAutoencoder.Factor}");
        var frames = Frames(o.World, o.Seed, o.Clips);
        log.WriteLine($"world-vae: {frames.shape[0]} frames of {o.Clips} clips (seeds {o.Seed}..{o.Seed + o.Clips - 1})");

        // One thread: with two, this libtorch's CPU convolution backward gave NaN or differing gradients at random
        // (the same inputs, run after run; seen on AMD EPYC), with one never — and two were no faster at this size.
        int threads = get_num_threads();
        set_num_threads(1);
        try { Train(o, frames, log); }
        finally { set_num_threads(threads); }
    }

    private static void Train(WorldVaeRunOptions o, Tensor frames, TextWriter log)
    {
        manual_seed(o.Seed + 11);
        using var vae = new WorldAutoencoder();
        var parameters = vae.named_parameters().Where(p => p.parameter.requires_grad).Select(p => (p.name, p.parameter)).ToList();
        using var optimizer = new AdamW(parameters, new AdamWSettings(o.LearningRate, WeightDecay: 0));
        using var order = new Generator((ulong)o.Seed + 2);
        using var noise = new Generator((ulong)o.Seed + 3);
        var batches = new BatchOrder(frames.shape[0], o.BatchSize, order);
        var clock = Stopwatch.StartNew();
        double recent = 0, recentKl = 0;
        int recentCount = 0, step = 1;
        for (; step <= o.Steps; step++)
        {
            using var scope = NewDisposeScope();
            optimizer.LearningRate = CosineRate.At(o.LearningRate, step, o.Steps, clock.Elapsed.TotalSeconds, o.MaxSeconds);
            var x = WorldLatents.Unit(frames.index_select(0, batches.Next()));
            vae.zero_grad();
            var (mean, logVar) = vae.Posterior(x);
            var z = mean.add(logVar.mul(0.5).exp().mul(randn(mean.shape, generator: noise)));
            var recon = vae.DecodeRaw(z);
            var mse = nn.functional.mse_loss(recon, x);
            var kl = mean.square().add(logVar.exp()).sub(1).sub(logVar).mul(0.5).mean();
            var loss = mse.add(kl.mul(o.KlWeight));
            loss.backward();
            GradientClipping.ClipGradNorm(parameters.Select(p => (Tensor)p.parameter), 1.0);
            optimizer.Step();
            recent += mse.item<float>(); recentKl += kl.item<float>(); recentCount++;
            bool stop = o.MaxSeconds > 0 && clock.Elapsed.TotalSeconds >= o.MaxSeconds;
            if (step % 100 == 0 || step == o.Steps || stop)
            {
                double eta = clock.Elapsed.TotalSeconds / step * (o.Steps - step);
                log.WriteLine($"world-vae step {step}/{o.Steps} mse={RecipeFiles.Num(recent / recentCount)} kl={RecipeFiles.Num(recentKl / recentCount)} lr={RecipeFiles.Num(optimizer.LearningRate)} eta_s={eta:F0}");
                recent = recentKl = 0; recentCount = 0;
            }
            if (stop && step < o.Steps)
            {
                log.WriteLine($"stopping after step {step} of {o.Steps}: --max-seconds {o.MaxSeconds:G} reached");
                break;
            }
        }
        vae.eval();
        using (no_grad())
        {
            using var scope = NewDisposeScope();
            var sample = WorldLatents.Unit(frames.narrow(0, 0, Math.Min(frames.shape[0], 4096)));
            vae.SetLatentStatistics(vae.Posterior(sample).Mean);
        }
        var inv = CultureInfo.InvariantCulture;
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(o.Out))!);
        vae.Save(o.Out, new Dictionary<string, string>
        {
            ["seed"] = o.Seed.ToString(inv), ["clips"] = o.Clips.ToString(inv), ["frames"] = o.World.Frames.ToString(inv),
            ["steps"] = Math.Min(step, o.Steps).ToString(inv), ["kl_weight"] = o.KlWeight.ToString("R", inv),
            ["trail_frames"] = o.World.TrailFrames.ToString(inv),
        });
        log.WriteLine($"saved {o.Out}");
        Report(vae, o.World, log);
    }

    /// <summary><c>train world-vae --check FILE</c>: the held-out report of a trained VAE, on the world of the flags given.</summary>
    public static void Check(string path, WorldSettings world, TextWriter log)
    {
        using var vae = WorldAutoencoder.Load(path);
        log.WriteLine($"{path}:");
        Report(vae, world, log);
    }

    private static void Report(WorldAutoencoder vae, WorldSettings world, TextWriter log)
    {
        var (meanError, wrong) = HeldOutError(vae, world, 16);
        log.WriteLine($"held-out clips (seeds {HeldOutSeed}..) mean |error| {meanError:F4}, {wrong:P2} of pixel values off by more than 1/4 of the range");
        var accuracy = HeldOutAccuracy(vae, world, EvaluatedClips);
        log.WriteLine($"the evaluator on {accuracy.Clips} held-out clips through the VAE (what a model of its latents can at best show):");
        foreach (var line in accuracy.Lines()) log.WriteLine(line);
    }

    public const int EvaluatedClips = 100;

    /// <summary>The world evaluator's reading of fresh clips after a round trip through the VAE, against their captions.</summary>
    public static WorldAccuracy HeldOutAccuracy(WorldAutoencoder vae, WorldSettings world, int clips)
    {
        using var noGrad = no_grad();
        var evaluator = new WorldEvaluator();
        var accuracy = new WorldAccuracy();
        for (long s = HeldOutSeed; s < HeldOutSeed + clips; s++)
        {
            using var scope = NewDisposeScope();
            var video = WorldVideo.Sample(world, s);
            var frames = WorldLatents.ToRgb(vae.forward(WorldLatents.Pixels(video.Frames)));
            accuracy.Add(WorldScore.Of(video.Caption, evaluator.Observe(frames)));
        }
        return accuracy;
    }

    /// <summary>Every frame of the clips as bytes [N·F, 3, H, W] (bytes: a quarter of the memory of floats).</summary>
    public static Tensor Frames(WorldSettings world, long seed, int clips)
    {
        var all = new byte[(long)clips * world.Frames * world.Width * world.Height * 3];
        long at = 0;
        for (long s = seed; s < seed + clips; s++)
        {
            var data = WorldVideo.Sample(world, s).Frames.Data;
            Array.Copy(data, 0, all, at, data.Length);
            at += data.Length;
        }
        return tensor(all, [(long)clips * world.Frames, world.Height, world.Width, 3]).permute(0, 3, 1, 2).contiguous();
    }

    /// <summary>Mean absolute error (in [−1, 1] units) and the share of values off by more than 0.5 (a quarter of the range), over fresh clips.</summary>
    public static (double Mean, double Wrong) HeldOutError(WorldAutoencoder vae, WorldSettings world, int clips)
    {
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        var x = WorldLatents.Unit(Frames(world, HeldOutSeed, clips));
        var error = vae.Decode(vae.Encode(x)).clamp(-1, 1).sub(x).abs();
        return (error.mean().item<float>(), error.gt(0.5).to(ScalarType.Float32).mean().item<float>());
    }
}
