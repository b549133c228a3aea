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

    /// <summary>A trained VAE file whose decoder goes on training, its encoder and latent statistics frozen (null = a new VAE).</summary>
    public string? DecoderFrom { get; init; }

    /// <summary>The decoder learns from latents with Gaussian noise of standard deviation up to this, in normalised latent
    /// units (0 = clean latents).</summary>
    public double DecoderNoise { get; init; }

    /// <summary>The same, on the shape-code channels only (null = <see cref="DecoderNoise"/>). Less noise there than on
    /// the rest makes the decoder draw an object's outline from the code rather than from the appearance channels.</summary>
    public double? DecoderCodeNoise { get; init; }

    /// <summary>Weight of a squared-error term that teaches the encoder to write <see cref="WorldShapeCode"/> into its
    /// last latent channels (0 = none): the shape becomes a value over the object's cells, as its colour is.</summary>
    public double ShapeCode { get; init; }
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
        if (!(o.DecoderNoise >= 0) || o.DecoderNoise > 10) throw new ArgumentException($"--decoder-noise must be in [0, 10] (normalised latent units), got {o.DecoderNoise}");
        if (o.DecoderNoise > 0 && o.DecoderFrom is null) throw new ArgumentException("--decoder-noise trains a decoder on: it needs --decoder-from FILE");
        if (o.DecoderCodeNoise is { } codeNoise && (!(codeNoise >= 0) || codeNoise > 10)) throw new ArgumentException($"--decoder-code-noise must be in [0, 10] (normalised latent units), got {codeNoise}");
        if (o.DecoderCodeNoise is not null && o.DecoderFrom is null) throw new ArgumentException("--decoder-code-noise trains a decoder on: it needs --decoder-from FILE");
        if (!(o.ShapeCode >= 0) || o.ShapeCode > 1000) throw new ArgumentException($"--shape-code must be in [0, 1000], got {o.ShapeCode}");
        if (o.ShapeCode > 0 && o.DecoderFrom is not null) throw new ArgumentException("--shape-code trains the encoder; --decoder-from keeps it as it is: use one or the other");
        if (o.DecoderFrom is { } from && !File.Exists(from)) throw new FileNotFoundException($"--decoder-from: no VAE file at {from}", from);
        if (o.World.Width % WorldAutoencoder.Factor != 0 || o.World.Height % WorldAutoencoder.Factor != 0)
            throw new ArgumentException($"the world's {o.World.Width}x{o.World.Height} frames must be multiples of {WorldAutoencoder.Factor}");
        var frames = Frames(o.World, o.Seed, o.Clips);
        log.WriteLine($"world-vae: {frames.shape[0]} frames of {o.Clips} clips (seeds {o.Seed}..{o.Seed + o.Clips - 1})");
        using var codes = o.ShapeCode > 0 ? ShapeCodes(o.World, o.Seed, o.Clips) : null;

        Train(o, frames, codes, log);
    }

    /// <summary>[1, C, 1, 1]: the decoder's largest latent noise per channel, the shape code's apart.</summary>
    private static Tensor ChannelNoise(WorldVaeRunOptions o)
    {
        var perChannel = Enumerable.Range(0, WorldAutoencoder.Channels)
            .Select(c => (float)(c >= WorldShapeCode.FirstChannel ? o.DecoderCodeNoise ?? o.DecoderNoise : o.DecoderNoise)).ToArray();
        return tensor(perChannel, [1, WorldAutoencoder.Channels, 1, 1]);
    }

    private static void Train(WorldVaeRunOptions o, Tensor frames, Tensor? codes, TextWriter log)
    {
        manual_seed(o.Seed + 11);
        // Going on from a trained file, only the decoder moves: the encoder and its latent statistics made the data the
        // DiT learnt, so they must stay as they are for the new decoder to read that DiT's latents.
        bool decoderOnly = o.DecoderFrom is not null;
        using var vae = decoderOnly ? WorldAutoencoder.Load(o.DecoderFrom!) : new WorldAutoencoder();
        vae.train();
        var parameters = vae.named_parameters()
            .Where(p => p.parameter.requires_grad && (!decoderOnly || p.name.StartsWith("decoder.", StringComparison.Ordinal)))
            .Select(p => (p.name, p.parameter)).ToList();
        if (decoderOnly) log.WriteLine($"world-vae: the decoder of {o.DecoderFrom} ({parameters.Count} tensors) goes on; its encoder and latent statistics stay");
        using var optimizer = new AdamW(parameters, new AdamWSettings(o.LearningRate, WeightDecay: 0));
        using var order = new Generator((ulong)o.Seed + 2);
        using var noise = new Generator((ulong)o.Seed + 3);
        using var latentNoise = new Generator((ulong)o.Seed + 4);
        var batches = new BatchOrder(frames.shape[0], o.BatchSize, order);
        using var channelNoise = ChannelNoise(o);
        var clock = Stopwatch.StartNew();
        double recent = 0, recentKl = 0, recentCode = 0;
        int recentCount = 0, step = 1;
        for (; step <= o.Steps; step++)
        {
            using var scope = NewDisposeScope();
            optimizer.LearningRate = CosineRate.At(o.LearningRate, step, o.Steps, clock.Elapsed.TotalSeconds, o.MaxSeconds);
            var batch = batches.Next();
            var x = WorldLatents.Unit(frames.index_select(0, batch));
            vae.zero_grad();
            Tensor recon, kl, code = zeros(1);
            if (decoderOnly)
            {
                Tensor latents;
                using (no_grad()) latents = vae.Encode(x);
                // Each frame's own noise level in [0, max): the decoder learns to draw the nearest clean frame from the
                // slightly-off latents a few-step sampler leaves, without unlearning clean ones.
                var sigma = rand([latents.shape[0], 1, 1, 1], generator: latentNoise).mul(channelNoise);
                recon = vae.Decode(latents.add(randn(latents.shape, generator: latentNoise).mul(sigma)));
                kl = zeros(1);
            }
            else
            {
                var (mean, logVar) = vae.Posterior(x);
                var z = mean.add(logVar.mul(0.5).exp().mul(randn(mean.shape, generator: noise)));
                recon = vae.DecodeRaw(z);
                kl = mean.square().add(logVar.exp()).sub(1).sub(logVar).mul(0.5).mean();
                if (codes is not null)
                    code = nn.functional.mse_loss(mean.narrow(1, WorldShapeCode.FirstChannel, WorldShapeCode.Channels), codes.index_select(0, batch));
            }
            var mse = nn.functional.mse_loss(recon, x);
            var loss = decoderOnly ? mse : mse.add(kl.mul(o.KlWeight)).add(code.mul(o.ShapeCode));
            loss.backward();
            GradientClipping.ClipGradNorm(parameters.Select(p => (Tensor)p.parameter), 1.0);
            optimizer.Step();
            recent += mse.item<float>(); recentKl += kl.item<float>(); recentCode += code.item<float>(); recentCount++;
            bool stop = o.MaxSeconds > 0 && clock.Elapsed.TotalSeconds >= o.MaxSeconds;
            if (step % 100 == 0 || step == o.Steps || stop)
            {
                double eta = clock.Elapsed.TotalSeconds / step * (o.Steps - step);
                log.WriteLine($"world-vae step {step}/{o.Steps} mse={RecipeFiles.Num(recent / recentCount)} kl={RecipeFiles.Num(recentKl / recentCount)} shape_code={RecipeFiles.Num(recentCode / recentCount)} lr={RecipeFiles.Num(optimizer.LearningRate)} eta_s={eta:F0}");
                recent = recentKl = recentCode = 0; recentCount = 0;
            }
            if (stop && step < o.Steps)
            {
                log.WriteLine($"stopping after step {step} of {o.Steps}: --max-seconds {o.MaxSeconds:G} reached");
                break;
            }
        }
        vae.eval();
        if (!decoderOnly) // a decoder trained on keeps the statistics its data was normalised with
        {
            using var noGrad = no_grad();
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
            ["decoder_from"] = o.DecoderFrom is null ? "" : Path.GetFileName(o.DecoderFrom), ["decoder_noise"] = o.DecoderNoise.ToString("R", inv),
            ["decoder_code_noise"] = (o.DecoderCodeNoise ?? o.DecoderNoise).ToString("R", inv),
            ["shape_code"] = o.ShapeCode.ToString("R", inv),
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
        var (agree, cells, _) = ShapeCodeFit(vae, world, 16);
        log.WriteLine($"shape code (latent channels {WorldShapeCode.FirstChannel}-{WorldAutoencoder.Channels - 1}): the largest names the shape on {agree:P1} " +
                      $"of {cells} held-out cells at least half inside an object's box (a VAE trained without --shape-code: about chance, 33%)");
    }

    /// <summary>
    /// How well the encoder writes <see cref="WorldShapeCode"/>: over the cells of fresh clips at least half inside an
    /// object's box, the share whose largest code channel (before normalisation) is that object's shape; and the code
    /// channels' mean squared error over every cell.
    /// </summary>
    public static (double Share, long Cells, double SquaredError) ShapeCodeFit(WorldAutoencoder vae, WorldSettings world, int clips)
    {
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        var truth = ShapeCodes(world, HeldOutSeed, clips);
        var (mean, _) = vae.Posterior(WorldLatents.Unit(Frames(world, HeldOutSeed, clips)));
        var written = mean.narrow(1, WorldShapeCode.FirstChannel, WorldShapeCode.Channels);
        var covered = truth.max(1).values.ge(0.5);
        var right = written.argmax(1).eq(truth.argmax(1)).logical_and(covered);
        long cells = covered.sum().item<long>();
        double squaredError = nn.functional.mse_loss(written, truth).item<float>();
        return (cells == 0 ? 0 : right.sum().item<long>() / (double)cells, cells, squaredError);
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

    /// <summary><see cref="WorldShapeCode"/> of every frame of clips SEED …, in the order of <see cref="Frames"/>.</summary>
    public static Tensor ShapeCodes(WorldSettings world, long seed, int clips)
    {
        using var scope = NewDisposeScope();
        var each = new List<Tensor>();
        for (long s = seed; s < seed + clips; s++) each.Add(WorldShapeCode.Of(WorldVideo.Sample(world, s).Scene, WorldAutoencoder.Factor));
        return cat(each, 0).MoveToOuterDisposeScope();
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
