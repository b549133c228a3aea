using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using SelfForcing.Model.Dit;
using SelfForcing.Training.Checkpoints;
using SelfForcing.Training.Dmd;
using SelfForcing.Training.Objectives;
using SelfForcing.Training.Randomness;
using static TorchSharp.torch;

namespace SelfForcing.Hosting.Training;

public sealed record TrainOptions(int Steps, string Out, string? Resume, long Seed, int SaveEvery);

/// <summary>
/// DMD training of tiny random models on the CPU (no weights, no text encoder: the prompt embeddings are seeded random
/// tensors): the whole loop — rollout, DMD and critic losses, AdamW, EMA, checkpoints, resume — at a size that runs
/// in seconds. Checkpoints go to <c>OUT/checkpoint_model_NNNNNN/</c> as the reference names them, one JSON line of
/// metrics per step to <c>OUT/metrics.jsonl</c> (appended on resume).
/// </summary>
public static class TinyDmdRun
{
    public const string MetricsFile = "metrics.jsonl";
    public const string RunFile = "run.json";
    private static readonly WanConfig Config = WanConfig.Tiny;
    private static readonly long[] LatentShape = [6, WanConfig.Tiny.InDim, 4, 4];

    public static string CheckpointFolder(string outDir, long step) => Path.Combine(outDir, $"checkpoint_model_{step:D6}");

    public static void Run(TrainOptions o, TextWriter log)
    {
        if (o.Steps < 1 || o.Steps > 100_000) throw new ArgumentException("--steps must be between 1 and 100000");
        if (o.SaveEvery < 1) throw new ArgumentException("--save-every must be at least 1");
        Directory.CreateDirectory(o.Out);
        // The frozen teacher is not part of a trainer checkpoint (it is the pretrained model), so it, the initial
        // weights and the prompts all come from the seed; a resume must use the seed the run started with.
        using var gen = new CausalWanModel(Config);
        using var real = new WanModel(Config with { NumLayers = 3 });
        using var fake = new WanModel(Config);
        gen.InitializeRandom(o.Seed + 1, std: 0.1);
        real.InitializeRandom(o.Seed + 2, std: 0.1);
        fake.InitializeRandom(o.Seed + 3, std: 0.1);
        using var promptGenerator = new Generator((ulong)o.Seed + 4);
        using var prompts = randn([1, Config.TextLen, Config.TextDim], generator: promptGenerator);
        using var negative = randn([1, Config.TextLen, Config.TextDim], generator: promptGenerator);

        var generator = new GeneratorNetwork(gen);
        var rollout = new SelfForcingRollout(generator, generator.Scheduler.Warp([1000, 750, 500, 250])) { FramesPerBlock = Config.NumFramePerBlock };
        using var random = new SeededTrainingRandom(o.Seed);
        using var trainer = new DmdTrainer(rollout, new ScoreNetwork(real), new ScoreNetwork(fake), LatentShape, new DmdSettings(), random);
        if (o.Resume is not null)
        {
            var run = ReadRun(o.Resume);
            if (run != o.Seed) throw new ArgumentException($"{o.Resume} was trained with --seed {run}; resume with the same seed (got {o.Seed})");
            DmdCheckpoint.Restore(o.Resume, trainer);
            log.WriteLine($"resumed from {o.Resume} at step {trainer.Step}");
        }

        using var metrics = new StreamWriter(Path.Combine(o.Out, MetricsFile), append: true);
        long last = trainer.Step + o.Steps;
        while (trainer.Step < last)
        {
            var clock = Stopwatch.StartNew();
            var r = trainer.TrainStep(prompts, prompts, negative);
            double ms = clock.Elapsed.TotalMilliseconds;
            log.WriteLine(ProgressLine(r, last, ms));
            metrics.WriteLine(MetricsLine(r, ms));
            metrics.Flush();
            if (r.Step % o.SaveEvery == 0 || r.Step == last) Save(o, trainer, log);
        }
    }

    private static void Save(TrainOptions o, DmdTrainer trainer, TextWriter log)
    {
        var folder = CheckpointFolder(o.Out, trainer.Step);
        DmdCheckpoint.Save(folder, trainer);
        File.WriteAllText(Path.Combine(folder, RunFile), JsonSerializer.Serialize(new Dictionary<string, object> { ["config"] = "tiny", ["seed"] = o.Seed }));
        log.WriteLine($"saved {folder}");
    }

    private static long ReadRun(string folder)
    {
        var path = Path.Combine(folder, RunFile);
        if (!File.Exists(path)) throw new ArgumentException($"{folder} is not a checkpoint of selfforcing train (no {RunFile})");
        using var doc = JsonDocument.Parse(File.ReadAllText(path));
        return doc.RootElement.GetProperty("seed").GetInt64();
    }

    private static string ProgressLine(DmdStepReport r, long last, double ms)
    {
        var inv = CultureInfo.InvariantCulture;
        var line = string.Create(inv, $"step {r.Step}/{last} critic_loss={r.CriticLoss:G6} critic_grad_norm={r.CriticGradNorm:G6}");
        if (r.TrainedGenerator)
            line += string.Create(inv, $" generator_loss={r.GeneratorLoss:G6} generator_grad_norm={r.GeneratorGradNorm:G6} dmd_grad_norm={r.DmdGradientNorm:G6}");
        return line + string.Create(inv, $" ema={(r.EmaActive ? "on" : "off")} step_ms={ms:F1}");
    }

    private static string MetricsLine(DmdStepReport r, double ms) => JsonSerializer.Serialize(new Dictionary<string, object?>
    {
        ["step"] = r.Step, ["trained_generator"] = r.TrainedGenerator, ["generator_loss"] = r.GeneratorLoss,
        ["generator_grad_norm"] = r.GeneratorGradNorm, ["dmd_gradient_norm"] = r.DmdGradientNorm, ["critic_loss"] = r.CriticLoss,
        ["critic_grad_norm"] = r.CriticGradNorm, ["ema"] = r.EmaActive, ["step_ms"] = Math.Round(ms, 3),
    });
}
