using System.Diagnostics;
using System.Text.Json;
using SelfForcing.Model;
using SelfForcing.Model.Dit;
using SelfForcing.Training.Optim;
using SelfForcing.Training.Randomness;
using SelfForcing.Training.Teacher;
using TorchSharp;
using static TorchSharp.torch;

namespace SelfForcing.Hosting.Training;

public sealed record TeacherRunOptions(string Data, string ModelConfig, string Out, int Steps, int BatchSize, double LearningRate, long Seed,
    double ConditionDropout, bool GradientCheckpointing, bool MixedPrecision)
{
    /// <summary>Also save the teacher every this many steps (0 = only at the end), so a long run can be stopped and used.</summary>
    public int SaveEvery { get; init; }
    /// <summary>Where the model trains ("cpu", "cuda", "cuda:N"); weights are drawn on the CPU first, so a seed means the same start anywhere.</summary>
    public string Device { get; init; } = "cpu";
    /// <summary>Stop after the step that passes this many seconds (0 = no limit) and save: a run sized by wall time.</summary>
    public double MaxSeconds { get; init; }
    /// <summary>Shift of the grid the training timesteps are drawn from (lower = more low-noise draws, where edges are made).</summary>
    public double TimestepShift { get; init; } = 5.0;
    /// <summary>A teacher folder to continue from (its saved weights — the moving average if it kept one — and its
    /// config; <c>--model-config</c> is then ignored; the optimiser starts afresh): a long run in several sittings, or
    /// a teacher trained on long clips refined on short ones.</summary>
    public string? InitFrom { get; init; }
    /// <summary>Train on the first this many frames of each clip (0 = all): shorter clips are cheaper steps, and the
    /// world's first frames are the ones free of bounces, where the caption's direction is what moves.</summary>
    public int Frames { get; init; }
    /// <summary>Every K-th frame from the first, before <see cref="Frames"/> counts (1 = every frame): larger steps of
    /// the same motion, so the caption's direction moves an object further per frame.</summary>
    public int FrameStride { get; init; } = 1;
    /// <summary>Weights' moving average (0 = none); with one, <c>teacher.safetensors</c> holds the average and
    /// <c>teacher_raw.safetensors</c> the trained weights.</summary>
    public double EmaDecay { get; init; }
    /// <summary>"constant", or "cosine": the rate falls to zero along the run's progress (the larger of step / steps and
    /// elapsed / <see cref="MaxSeconds"/>, so a run sized by wall time ends its decay in time).</summary>
    public string LrSchedule { get; init; } = "constant";
    /// <summary>"reference": each sample's loss weighted by the scheduler's training weight, a bump around t = 500 that is
    /// near zero at both ends of the grid (the reference's, made for fine-tuning a trained Wan); "uniform": every timestep
    /// counts the same, as flow matching from scratch is usually trained — the high-noise steps, where a sample's layout
    /// and motion are decided, keep their share of the gradient.</summary>
    public string LossWeight { get; init; } = "reference";
    /// <summary>Weight of object positions against background in the loss (0 = every position alike; 4 = objects up to
    /// 5×): see <see cref="SelfForcing.Training.Objectives.ForegroundWeights"/>.</summary>
    public double ForegroundBoost { get; init; }
}

/// <summary>
/// <c>selfforcing train teacher</c>: flow-matching training of a bidirectional Wan DiT from random weights on the clean
/// latents and prompt embeddings of a safetensors file (<c>latents</c> [N, F, C, H, W], <c>prompt_embeds</c> [N, L, D],
/// optional <c>negative_prompt_embeds</c> [1, L, D] for condition dropout); writes <c>OUT/teacher.safetensors</c>,
/// <c>OUT/config.json</c> and one metrics line per step to <c>OUT/teacher_metrics.jsonl</c>.
/// </summary>
public static class TeacherRun
{
    public const string MetricsFile = "teacher_metrics.jsonl";

    public static void Run(TeacherRunOptions o, TextWriter log)
    {
        if (o.Steps < 1) throw new ArgumentException("--steps must be at least 1");
        if (o.BatchSize < 1) throw new ArgumentException("--batch-size must be at least 1");
        if (o.Frames < 0) throw new ArgumentException("--frames must not be negative");
        if (o.LrSchedule is not ("constant" or "cosine")) throw new ArgumentException($"--lr-schedule must be constant or cosine, got '{o.LrSchedule}'");
        if (!(o.ForegroundBoost >= 0) || o.ForegroundBoost > 100) throw new ArgumentException($"--foreground-weight must be in [0, 100], got {o.ForegroundBoost}");
        if (o.LossWeight is not ("reference" or "uniform")) throw new ArgumentException($"--loss-weight must be reference or uniform, got '{o.LossWeight}'");
        var config = RecipeFiles.ReadConfig(o.InitFrom, o.ModelConfig);
        var data = RecipeFiles.ReadTensors(o.Data, ["latents", "prompt_embeds"], ["negative_prompt_embeds"]);
        var latents = data["latents"];
        var prompts = data["prompt_embeds"];
        if (latents.dim() != 5 || prompts.dim() != 3 || latents.shape[0] != prompts.shape[0])
            throw new ArgumentException($"{o.Data}: need latents [N, F, C, H, W] and prompt_embeds [N, L, D] with the same N");
        latents = RecipeFiles.FirstFrames(latents, o.Frames, o.Data, o.FrameStride);
        data.TryGetValue("negative_prompt_embeds", out var negative);
        if (o.ConditionDropout > 0 && negative is null) throw new ArgumentException("--condition-dropout needs negative_prompt_embeds in the data file");

        var device = TorchRuntime.ParseDevice(o.Device);
        Directory.CreateDirectory(o.Out);
        using var model = new WanModel(config);
        if (o.InitFrom is null) ReferenceInit.Apply(model, o.Seed + 1);
        else
        {
            RecipeFiles.CopyTeacherInto(o.InitFrom, model);
            log.WriteLine($"teacher starts from {o.InitFrom}");
        }
        model.to(device);
        negative = negative?.to(device);
        using var random = new SeededTrainingRandom(o.Seed);
        var settings = new TeacherSettings
        {
            Optimizer = new AdamWSettings(o.LearningRate, 0.9, 0.999, 0.01), ConditionDropout = o.ConditionDropout,
            GradientCheckpointing = o.GradientCheckpointing, MixedPrecision = o.MixedPrecision, TimestepShift = o.TimestepShift,
            EmaDecay = o.EmaDecay, UseTrainingWeight = o.LossWeight == "reference",
        };
        using var trainer = new TeacherTrainer(model, settings, random);
        using var foreground = o.ForegroundBoost > 0 ? new SelfForcing.Training.Objectives.ForegroundWeights(latents, o.ForegroundBoost) : null;
        if (foreground is not null)
        {
            using var sample = latents.narrow(0, 0, Math.Min(latents.shape[0], 256));
            log.WriteLine($"foreground weight {o.ForegroundBoost:G}: backgrounds of {string.Join(" and ", foreground.FramesPerBackground)} frames; " +
                          $"{foreground.ObjectShare(sample):P1} of positions count as object");
        }
        using var order = new Generator((ulong)o.Seed + 2);
        using var metrics = new StreamWriter(Path.Combine(o.Out, MetricsFile));
        var batches = new BatchOrder(latents.shape[0], o.BatchSize, order);
        var clock = Stopwatch.StartNew();
        if (o.MaxSeconds < 0) throw new ArgumentException("--max-seconds must not be negative");
        for (int step = 1; step <= o.Steps; step++)
        {
            using var scope = NewDisposeScope();
            var stepClock = Stopwatch.StartNew();
            if (o.LrSchedule == "cosine") trainer.LearningRate = CosineRate.At(o.LearningRate, step, o.Steps, clock.Elapsed.TotalSeconds, o.MaxSeconds);
            var index = batches.Next();
            var batch = latents.index_select(0, index).to(device);
            var r = trainer.TrainStep(batch, prompts.index_select(0, index).to(device), negative, foreground?.For(batch));
            double ms = stepClock.Elapsed.TotalMilliseconds;
            double eta = clock.Elapsed.TotalSeconds / step * (o.Steps - step);
            log.WriteLine($"teacher step {step}/{o.Steps} loss={RecipeFiles.Num(r.Loss)} grad_norm={RecipeFiles.Num(r.GradNorm)} lr={RecipeFiles.Num(trainer.LearningRate)} step_ms={ms:F1} eta_s={eta:F0}");
            metrics.WriteLine(JsonSerializer.Serialize(new Dictionary<string, object>
            {
                ["step"] = step, ["loss"] = r.Loss, ["grad_norm"] = r.GradNorm, ["mean_timestep"] = r.MeanTimestep, ["lr"] = trainer.LearningRate, ["step_ms"] = Math.Round(ms, 3),
            }));
            if (o.SaveEvery > 0 && step % o.SaveEvery == 0 && step < o.Steps)
            {
                metrics.Flush();
                Save(o.Out, model, trainer);
                log.WriteLine($"saved {Path.Combine(o.Out, RecipeFiles.TeacherWeights)} at step {step}");
            }
            if (o.MaxSeconds > 0 && clock.Elapsed.TotalSeconds >= o.MaxSeconds && step < o.Steps)
            {
                log.WriteLine($"stopping after step {step} of {o.Steps}: --max-seconds {o.MaxSeconds:G} reached");
                break;
            }
        }
        Save(o.Out, model, trainer);
        log.WriteLine($"saved {Path.Combine(o.Out, RecipeFiles.TeacherWeights)}" + (trainer.Ema is null ? "" : $" (the weights' moving average, decay {o.EmaDecay:G}; the trained weights: {RawWeights})"));
    }

    public const string RawWeights = "teacher_raw.safetensors";

    private static void Save(string folder, WanModel model, TeacherTrainer trainer)
    {
        if (trainer.Ema is null)
        {
            RecipeFiles.SaveTeacher(folder, model);
            return;
        }
        RecipeFiles.SaveTeacher(folder, model, RawWeights);
        RecipeFiles.SaveTeacher(folder, model.Config, trainer.Ema.Shadow);
    }
}

/// <summary>Shuffled passes over N items in batches (a fresh seeded permutation per pass; the last short batch is dropped).</summary>
internal sealed class BatchOrder(long count, int batchSize, Generator generator)
{
    private long[] _perm = [];
    private int _at;

    public Tensor Next()
    {
        int size = (int)Math.Min(batchSize, count);
        if (_at + size > _perm.Length)
        {
            using var p = randperm(count, generator: generator);
            _perm = p.data<long>().ToArray();
            _at = 0;
        }
        var batch = _perm.AsSpan(_at, size).ToArray();
        _at += size;
        return tensor(batch, ScalarType.Int64);
    }
}
