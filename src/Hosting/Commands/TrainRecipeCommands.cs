using System.CommandLine;
using System.Globalization;
using SelfForcing.Actors.Engines;
using SelfForcing.Hosting.Training;
using SelfForcing.World;

namespace SelfForcing.Hosting.Commands;

/// <summary>
/// The recipe before DMD, as subcommands of <c>train</c>: <c>teacher</c> (flow matching of a bidirectional DiT),
/// <c>ode-pairs</c> (the teacher's ODE trajectories) and <c>ode-init</c> (ODE-regression initialisation of the student).
/// </summary>
public static class TrainRecipeCommands
{
    public static void AddTo(Command train, TextWriter? stdout, TextWriter? stderr)
    {
        train.Subcommands.Add(WorldData(stdout, stderr));
        train.Subcommands.Add(WorldVae(stdout, stderr));
        train.Subcommands.Add(Teacher(stdout, stderr));
        train.Subcommands.Add(OdePairs(stdout, stderr));
        train.Subcommands.Add(OdeInit(stdout, stderr));
        train.Subcommands.Add(WorldExport(stdout, stderr));
        train.Subcommands.Add(WordProbe(stdout, stderr));
        train.Subcommands.Add(TextBinding(stdout, stderr));
        train.Subcommands.Add(WorldText(stdout, stderr));
    }

    private static Command WorldText(TextWriter? stdout, TextWriter? stderr)
    {
        var outFile = new Option<string>("--out") { Description = "the text encoder file to write", DefaultValueFactory = _ => "world-text.safetensors" };
        var steps = new Option<int>("--steps") { DefaultValueFactory = _ => 3000 };
        var batch = new Option<int>("--batch-size") { Description = "captions per step", DefaultValueFactory = _ => 128 };
        var lr = new Option<double>("--lr") { Description = "peak rate of a cosine schedule", DefaultValueFactory = _ => 3e-3 };
        var seed = new Option<long>("--seed") { Description = "seed of the starting weights (as world-data's --text-seed) and of the captions drawn", DefaultValueFactory = _ => 0 };
        var textLen = new Option<int>("--text-len") { DefaultValueFactory = _ => 20 };
        var textDim = new Option<int>("--text-dim") { DefaultValueFactory = _ => 32 };
        var twoObjects = new Option<double>("--two-object-odds") { Description = "share of captions with two objects", DefaultValueFactory = _ => 0.5 };
        var maxSeconds = MaxSeconds();
        var cmd = new Command("world-text", "Trains the world text encoder so each token names its own object (binding), before a DiT learns to read it.")
        {
            outFile, steps, batch, lr, seed, textLen, textDim, twoObjects, maxSeconds,
        };
        cmd.SetAction(p => Guard(stderr, () => WorldTextRun.Run(new WorldTextRunOptions(p.GetValue(outFile)!, p.GetValue(steps), p.GetValue(batch), p.GetValue(lr),
            p.GetValue(seed), p.GetValue(textLen), p.GetValue(textDim)) { TwoObjectOdds = p.GetValue(twoObjects), MaxSeconds = p.GetValue(maxSeconds) }, stdout ?? Console.Out)));
        return cmd;
    }

    private static Command TextBinding(TextWriter? stdout, TextWriter? stderr)
    {
        var world = new Option<string?>("--world") { Description = "a world model file or a train world-text file whose text encoder to measure (default: the shipped model's)" };
        var count = new Option<int>("--count") { Description = "two-object captions", DefaultValueFactory = _ => 200 };
        var seed = new Option<int>("--seed") { Description = "seed of the captions drawn", DefaultValueFactory = _ => 0 };
        var cmd = new Command("text-binding", "Does the world text encoder tell which object a direction or shape belongs to? Swapped vs replaced words.")
        {
            world, count, seed,
        };
        cmd.SetAction(p => Guard(stderr, () => TextBindingProbe.Run(p.GetValue(world) ?? WorldModelFile.DefaultPath, p.GetValue(count), p.GetValue(seed),
            stdout ?? Console.Out)));
        return cmd;
    }

    private static Command WordProbe(TextWriter? stdout, TextWriter? stderr)
    {
        var teacher = new Option<string>("--teacher") { Description = "a train teacher output folder", Required = true };
        var data = new Option<string>("--data") { Description = "held-out clips from train world-data (e.g. --seed 9000000)", Required = true };
        var count = new Option<int>("--count") { Description = "one-object clips to probe", DefaultValueFactory = _ => 40 };
        var seed = new Option<long>("--seed") { Description = "seed of the noise (clip i uses seed + i)", DefaultValueFactory = _ => 0 };
        var frames = new Option<int>("--frames") { Description = "probe the first N frames of each clip (0 = all), e.g. the frames a teacher was trained on", DefaultValueFactory = _ => 0 };
        var stride = FrameStride("probe");
        var sigmas = new Option<string>("--sigmas")
        {
            Description = "comma-separated noise levels in (0, 1] (e.g. 0.9,0.95,0.98: the high noise where a sample's motion is decided)",
            DefaultValueFactory = _ => string.Join(",", TeacherWordProbe.DefaultSigmas.Select(s => s.ToString(CultureInfo.InvariantCulture))),
        };
        var device = TrainDevice();
        var text = TextFile("the world-data --text the clips' captions were encoded with");
        var cmd = new Command("word-probe", "Does a teacher read its captions' colour, shape and direction words? Denoising error under the true caption vs one-word rivals.")
        {
            teacher, data, count, seed, frames, stride, sigmas, device, text,
        };
        cmd.SetAction(p => Guard(stderr, () => WordProbeRun.Run(new WordProbeRunOptions(p.GetValue(teacher)!, p.GetValue(data)!, p.GetValue(count),
            p.GetValue(seed)) { Device = p.GetValue(device)!, Frames = p.GetValue(frames), FrameStride = p.GetValue(stride), Sigmas = ParseSigmas(p.GetValue(sigmas)!), Text = p.GetValue(text) }, stdout ?? Console.Out)));
        return cmd;
    }

    private static Option<int> FrameStride(string what) => new("--frame-stride")
    {
        Description = $"{what} every K-th frame of each clip from the first (before --frames counts them): the same motion over fewer frames",
        DefaultValueFactory = _ => 1,
    };

    private static double[] ParseSigmas(string text) =>
        text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).Select(part =>
            double.TryParse(part, NumberStyles.Float, CultureInfo.InvariantCulture, out var sigma) ? sigma
                : throw new ArgumentException($"--sigmas: '{part}' is not a number; give noise levels in (0, 1] separated by commas, e.g. 0.9,0.95")).ToArray();

    private static Command WorldExport(TextWriter? stdout, TextWriter? stderr)
    {
        var checkpoint = new Option<string>("--checkpoint") { Description = "a checkpoint_model_NNNNNN folder of train (DMD) or train ode-init", Required = true };
        var raw = new Option<bool>("--no-ema") { Description = "export the generator, not generator_ema" };
        var textSeed = new Option<long>("--text-seed") { Description = "the --text-seed of train world-data", DefaultValueFactory = _ => 0 };
        var textLen = new Option<int>("--text-len") { DefaultValueFactory = _ => 20 };
        var textDim = new Option<int>("--text-dim") { DefaultValueFactory = _ => 32 };
        var outFile = new Option<string>("--out") { DefaultValueFactory = _ => "world-tiny.safetensors" };
        var vae = new Option<string?>("--vae") { Description = "the train world-vae file whose latents the generator learnt (shipped in the file, it decodes the streams)" };
        var text = TextFile("the world-data --text the generator's captions were encoded with (replaces --text-seed)");
        var cmd = new Command("world-export", "One safetensors file of a trained world generator (its EMA) and the world text encoder: the default model.")
        {
            checkpoint, raw, textSeed, textLen, textDim, outFile, vae, text,
        };
        cmd.SetAction(p => Guard(stderr, () => WorldExportRun.Run(new WorldExportRunOptions(p.GetValue(checkpoint)!, !p.GetValue(raw), p.GetValue(textSeed),
            p.GetValue(textLen), p.GetValue(textDim), p.GetValue(outFile)!) { Vae = p.GetValue(vae), Text = p.GetValue(text) }, stdout ?? Console.Out)));
        return cmd;
    }

    private static Option<string?> TextFile(string what) => new("--text") { Description = $"a train world-text file (or a world model file, for its encoder): {what}" };

    private static Option<string> ModelConfig() => new("--model-config") { Description = "'tiny' or a reference config.json", DefaultValueFactory = _ => "tiny" };
    private static Option<long> Seed() => new("--seed") { Description = "seed of the weights, batches and training draws", DefaultValueFactory = _ => 0 };
    private static Option<bool> Checkpointing() => new("--gradient-checkpointing") { Description = "recompute each transformer block's activations in backward (less memory)" };
    private static Option<double> MaxSeconds() => new("--max-seconds") { Description = "stop (and save) after the step that passes this many seconds; 0 = no limit" };
    private static Option<string> TrainDevice() => new("--device") { Description = "cpu, cuda or cuda:N", DefaultValueFactory = _ => "cpu" };
    private static Option<bool> MixedPrecision() => new("--mixed-precision") { Description = "bf16 compute, float32 master weights and optimiser" };

    private static Command WorldData(TextWriter? stdout, TextWriter? stderr)
    {
        var outFile = new Option<string>("--out") { Description = "the safetensors file to write", DefaultValueFactory = _ => "world_data.safetensors" };
        var count = new Option<int>("--count") { Description = "clips, seeds SEED … SEED+COUNT-1", DefaultValueFactory = _ => 1000 };
        var seed = new Option<long>("--seed") { Description = "seed of the first clip", DefaultValueFactory = _ => 0 };
        var frames = new Option<int>("--frames") { Description = "frames (= latent frames) per clip", DefaultValueFactory = _ => 21 };
        var textLen = new Option<int>("--text-len") { DefaultValueFactory = _ => 20 };
        var textDim = new Option<int>("--text-dim") { DefaultValueFactory = _ => 32 };
        var textSeed = new Option<long>("--text-seed") { Description = "seed of the world text encoder's frozen weights", DefaultValueFactory = _ => 0 };
        var world = new WorldFlags();
        var vae = new Option<string?>("--vae") { Description = "a train world-vae file: latents through its encoder (8x8 for a 32x32 world) instead of 2x2 space-to-depth" };
        var text = TextFile("the captions' encoder instead of the frozen one of --text-seed");
        var cmd = new Command("world-data", "The tiny world as training data: latents, caption embeddings and the unconditional embedding.")
        {
            outFile, count, seed, frames, textLen, textDim, textSeed, world.Slow, world.Fast, world.Lead, world.Trail, world.Jitter, world.TwoObjects, vae, text,
        };
        cmd.SetAction(p => Guard(stderr, () => WorldDataRun.Run(new WorldDataRunOptions(p.GetValue(outFile)!, p.GetValue(count), p.GetValue(seed),
            p.GetValue(frames), p.GetValue(textLen), p.GetValue(textDim), p.GetValue(textSeed))
            { SlowSpeed = p.GetValue(world.Slow), FastSpeed = p.GetValue(world.Fast), LeadFrames = p.GetValue(world.Lead), TrailFrames = p.GetValue(world.Trail),
              StartJitter = p.GetValue(world.Jitter), TwoObjectOdds = p.GetValue(world.TwoObjects), Vae = p.GetValue(vae), Text = p.GetValue(text) }, stdout ?? Console.Out)));
        return cmd;
    }

    private static Command WorldVae(TextWriter? stdout, TextWriter? stderr)
    {
        var outFile = new Option<string>("--out") { Description = "the VAE safetensors file to write", DefaultValueFactory = _ => "world-vae.safetensors" };
        var count = new Option<int>("--count") { Description = "clips whose frames it trains on, seeds SEED … SEED+COUNT-1", DefaultValueFactory = _ => 2000 };
        var seed = Seed();
        var frames = new Option<int>("--frames") { Description = "frames per clip", DefaultValueFactory = _ => 9 };
        var steps = new Option<int>("--steps") { DefaultValueFactory = _ => 3000 };
        var batch = new Option<int>("--batch-size") { DefaultValueFactory = _ => 64 };
        var lr = new Option<double>("--lr") { Description = "peak rate of a cosine schedule", DefaultValueFactory = _ => 2e-3 };
        var kl = new Option<double>("--kl-weight") { Description = "weight of the KL term against the per-pixel squared error", DefaultValueFactory = _ => 1e-4 };
        var maxSeconds = MaxSeconds();
        var check = new Option<string?>("--check") { Description = "no training: report a trained VAE file on held-out clips of the world of the flags" };
        var decoderFrom = new Option<string?>("--decoder-from") { Description = "a trained VAE file: train only its decoder on, keeping its encoder and latent statistics (so data and models made with it still fit)" };
        var shapeCode = new Option<double>("--shape-code") { Description = "weight of a term that teaches the encoder to write which shape covers each latent cell into its last 3 channels (0 = none; README \"A latent that names the shape\")", DefaultValueFactory = _ => 0 };
        var decoderNoise = new Option<double>("--decoder-noise") { Description = "with --decoder-from: Gaussian noise of up to this standard deviation (normalised latent units) on the decoder's latents", DefaultValueFactory = _ => 0 };
        var decoderCodeNoise = new Option<double?>("--decoder-code-noise") { Description = "with --decoder-from: the same on the shape-code channels only (default: --decoder-noise); less there makes the decoder draw outlines from the code" };
        var world = new WorldFlags();
        var cmd = new Command("world-vae", "A tiny VAE of the world's frames (32x32 -> 16x8x8), for train world-data --vae.")
        {
            outFile, count, seed, frames, steps, batch, lr, kl, maxSeconds, world.Slow, world.Fast, world.Lead, world.Trail, world.Jitter, world.TwoObjects, check,
            decoderFrom, decoderNoise, decoderCodeNoise, shapeCode,
        };
        cmd.SetAction(p => Guard(stderr, () =>
        {
            if (p.GetValue(check) is { } file) WorldVaeRun.Check(file, world.Settings(p, p.GetValue(frames)), stdout ?? Console.Out);
            else WorldVaeRun.Run(new WorldVaeRunOptions(p.GetValue(outFile)!, world.Settings(p, p.GetValue(frames)),
            p.GetValue(count), p.GetValue(seed), p.GetValue(steps), p.GetValue(batch), p.GetValue(lr), p.GetValue(kl))
            {
                MaxSeconds = p.GetValue(maxSeconds), DecoderFrom = p.GetValue(decoderFrom), DecoderNoise = p.GetValue(decoderNoise),
                DecoderCodeNoise = p.GetValue(decoderCodeNoise), ShapeCode = p.GetValue(shapeCode),
            },
            stdout ?? Console.Out);
        }));
        return cmd;
    }

    private static Command Teacher(TextWriter? stdout, TextWriter? stderr)
    {
        var data = new Option<string>("--data") { Description = "safetensors: latents [N, F, C, H, W], prompt_embeds [N, L, D], optional negative_prompt_embeds [1, L, D]", Required = true };
        var config = ModelConfig();
        var outDir = new Option<string>("--out") { Description = "folder for teacher.safetensors, config.json and teacher_metrics.jsonl", DefaultValueFactory = _ => "teacher-out" };
        var steps = new Option<int>("--steps") { DefaultValueFactory = _ => 1000 };
        var batch = new Option<int>("--batch-size") { DefaultValueFactory = _ => 8 };
        var lr = new Option<double>("--lr") { DefaultValueFactory = _ => 1e-4 };
        var seed = Seed();
        var dropout = new Option<double>("--condition-dropout") { Description = "probability a prompt is replaced by the negative prompt (trains the CFG branch)" };
        var saveEvery = new Option<int>("--save-every") { Description = "also save the teacher every N steps (0 = at the end only)" };
        var ckpt = Checkpointing();
        var mixed = MixedPrecision();
        var device = TrainDevice();
        var maxSeconds = MaxSeconds();
        var shift = new Option<double>("--shift") { Description = "shift of the timestep grid training draws from (lower = more low-noise draws)", DefaultValueFactory = _ => 5.0 };
        var initFrom = new Option<string?>("--init-from") { Description = "a train teacher folder to continue from (its config replaces --model-config)" };
        var frames = new Option<int>("--frames") { Description = "train on the first N frames of each clip (0 = all)" };
        var stride = FrameStride("train on");
        var ema = new Option<double>("--ema") { Description = "decay of a moving average of the weights, saved as the teacher (0 = none; e.g. 0.999)" };
        var schedule = new Option<string>("--lr-schedule") { Description = "constant, or cosine (to zero by --steps or --max-seconds)", DefaultValueFactory = _ => "constant" };
        var lossWeight = new Option<string>("--loss-weight")
        {
            Description = "reference (the reference's bump around t = 500, near zero at both ends) or uniform (every timestep counts the same; for training from scratch)",
            DefaultValueFactory = _ => "reference",
        };
        var foreground = new Option<double>("--foreground-weight")
        {
            Description = "weigh positions that differ from the clip's background (objects) up to 1+K times the rest in the loss (0 = all alike)",
        };
        var cmd = new Command("teacher", "Flow-matching training of a bidirectional Wan DiT (the teacher) on clean latents.")
        {
            data, config, outDir, steps, batch, lr, seed, dropout, saveEvery, ckpt, mixed, device, maxSeconds, shift, initFrom, frames, stride, ema, schedule, lossWeight,
            foreground,
        };
        cmd.SetAction(p => Guard(stderr, () => TeacherRun.Run(new TeacherRunOptions(p.GetValue(data)!, p.GetValue(config)!, p.GetValue(outDir)!,
            p.GetValue(steps), p.GetValue(batch), p.GetValue(lr), p.GetValue(seed), p.GetValue(dropout), p.GetValue(ckpt), p.GetValue(mixed)) { SaveEvery = p.GetValue(saveEvery), Device = p.GetValue(device)!, MaxSeconds = p.GetValue(maxSeconds), TimestepShift = p.GetValue(shift),
            InitFrom = p.GetValue(initFrom), Frames = p.GetValue(frames), FrameStride = p.GetValue(stride), EmaDecay = p.GetValue(ema), LrSchedule = p.GetValue(schedule)!,
            LossWeight = p.GetValue(lossWeight)!, ForegroundBoost = p.GetValue(foreground) }, stdout ?? Console.Out)));
        return cmd;
    }

    private static Command OdePairs(TextWriter? stdout, TextWriter? stderr)
    {
        var teacher = new Option<string>("--teacher") { Description = "a train teacher output folder", Required = true };
        var prompts = new Option<string>("--prompts") { Description = "safetensors: prompt_embeds [N, L, D], optional negative_prompt_embeds [1, L, D] (enables CFG)", Required = true };
        var outFile = new Option<string>("--out") { Description = "the ODE-pairs safetensors file to write", DefaultValueFactory = _ => "ode_pairs.safetensors" };
        var frames = new Option<int>("--frames") { Description = "latent frames", DefaultValueFactory = _ => 21 };
        var height = new Option<int>("--height") { Description = "latent height", DefaultValueFactory = _ => 4 };
        var width = new Option<int>("--width") { Description = "latent width", DefaultValueFactory = _ => 4 };
        var steps = new Option<int>("--ode-steps") { Description = "Euler steps (a multiple of the student's 4)", DefaultValueFactory = _ => 48 };
        var shift = new Option<double>("--shift") { Description = "schedule shift; the student's 5 records its warped steps exactly (the reference used 8)", DefaultValueFactory = _ => 5.0 };
        var guidance = new Option<double>("--guidance-scale") { DefaultValueFactory = _ => 6.0 };
        var seed = Seed();
        var batch = new Option<int>("--batch-size") { DefaultValueFactory = _ => 8 };
        var count = new Option<int>("--count") { Description = "only the first N prompts (0 = all)" };
        var device = TrainDevice();
        var cmd = new Command("ode-pairs", "Teacher ODE trajectories at the student's denoising steps, for train ode-init.")
        {
            teacher, prompts, outFile, frames, height, width, steps, shift, guidance, seed, batch, count, device,
        };
        cmd.SetAction(p => Guard(stderr, () => OdePairsRun.Run(new OdePairsRunOptions(p.GetValue(teacher)!, p.GetValue(prompts)!, p.GetValue(outFile)!,
            p.GetValue(frames), p.GetValue(height), p.GetValue(width), p.GetValue(steps), p.GetValue(shift), p.GetValue(guidance), p.GetValue(seed),
            p.GetValue(batch)) { Count = p.GetValue(count), Device = p.GetValue(device)! }, stdout ?? Console.Out)));
        return cmd;
    }

    private static Command OdeInit(TextWriter? stdout, TextWriter? stderr)
    {
        var pairs = new Option<string>("--pairs") { Description = "an ODE-pairs file from train ode-pairs", Required = true };
        var initFrom = new Option<string?>("--init-from") { Description = "a train teacher folder whose weights (and config) the student starts from" };
        var config = ModelConfig();
        var outDir = new Option<string>("--out") { Description = "folder for checkpoint_model_NNNNNN/ and ode_init_metrics.jsonl", DefaultValueFactory = _ => "ode-init-out" };
        var steps = new Option<int>("--steps") { DefaultValueFactory = _ => 1000 };
        var batch = new Option<int>("--batch-size") { DefaultValueFactory = _ => 4 };
        var lr = new Option<double>("--lr") { DefaultValueFactory = _ => 1e-4 };
        var seed = Seed();
        var saveEvery = new Option<int>("--save-every") { DefaultValueFactory = _ => 500 };
        var ckpt = Checkpointing();
        var mixed = MixedPrecision();
        var device = TrainDevice();
        var maxSeconds = MaxSeconds();
        var cmd = new Command("ode-init", "ODE-regression initialisation of the causal student (the reference's ode_init.pt).")
        {
            pairs, initFrom, config, outDir, steps, batch, lr, seed, saveEvery, ckpt, mixed, device, maxSeconds,
        };
        cmd.SetAction(p => Guard(stderr, () => OdeInitRun.Run(new OdeInitRunOptions(p.GetValue(pairs)!, p.GetValue(initFrom), p.GetValue(config)!,
            p.GetValue(outDir)!, p.GetValue(steps), p.GetValue(batch), p.GetValue(lr), p.GetValue(seed), p.GetValue(saveEvery), p.GetValue(ckpt),
            p.GetValue(mixed)) { Device = p.GetValue(device)!, MaxSeconds = p.GetValue(maxSeconds) }, stdout ?? Console.Out)));
        return cmd;
    }

    private static int Guard(TextWriter? stderr, Action run)
    {
        try
        {
            run();
            return 0;
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException or IOException or InvalidDataException)
        {
            (stderr ?? Console.Error).WriteLine($"error: {e.Message}");
            return 1;
        }
    }
}
