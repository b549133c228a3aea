using System.Diagnostics;
using System.Text.Json;
using SelfForcing.Model.Dit;
using SelfForcing.Training.Checkpoints;
using SelfForcing.Training.Ode;
using SelfForcing.Training.Optim;
using SelfForcing.Training.Randomness;
using TorchSharp;
using static TorchSharp.torch;

namespace SelfForcing.Hosting.Training;

public sealed record OdeInitRunOptions(string Pairs, string? InitFrom, string ModelConfig, string Out, int Steps, int BatchSize, double LearningRate,
    long Seed, int SaveEvery, bool GradientCheckpointing, bool MixedPrecision)
{
    /// <summary>Where the student trains ("cpu", "cuda", "cuda:N"); it starts from CPU weights, so a seed means the same start anywhere.</summary>
    public string Device { get; init; } = "cpu";
    /// <summary>Stop after the step that passes this many seconds (0 = no limit), saving that step's checkpoint.</summary>
    public double MaxSeconds { get; init; }
}

/// <summary>
/// <c>selfforcing train ode-init</c>: ODE-regression initialisation of a causal student on an ODE-pairs file, starting from
/// a teacher folder's weights (as the reference starts from Wan's) or from random weights; checkpoints
/// <c>OUT/checkpoint_model_NNNNNN/</c> hold <c>model.pt</c> + <c>generator.safetensors</c> (the reference's
/// <c>ode_init.pt</c> layout) and <c>config.json</c>; one metrics line per step in <c>OUT/ode_init_metrics.jsonl</c>.
/// </summary>
public static class OdeInitRun
{
    public const string MetricsFile = "ode_init_metrics.jsonl";

    public static void Run(OdeInitRunOptions o, TextWriter log)
    {
        if (o.Steps < 1) throw new ArgumentException("--steps must be at least 1");
        if (o.BatchSize < 1) throw new ArgumentException("--batch-size must be at least 1");
        if (o.SaveEvery < 1) throw new ArgumentException("--save-every must be at least 1");
        using var pairs = OdePairs.Load(o.Pairs);
        var config = RecipeFiles.ReadConfig(o.InitFrom, o.ModelConfig);
        using var student = new CausalWanModel(config);
        if (o.InitFrom is null) ReferenceInit.Apply(student, o.Seed + 1);
        else RecipeFiles.CopyTeacherInto(o.InitFrom, student);
        student.to(Model.TorchRuntime.ParseDevice(o.Device));
        Directory.CreateDirectory(o.Out);
        using var random = new SeededTrainingRandom(o.Seed);
        var settings = new OdeInitSettings
        {
            Optimizer = new AdamWSettings(o.LearningRate, 0.9, 0.999, 0.01), GradientCheckpointing = o.GradientCheckpointing, MixedPrecision = o.MixedPrecision,
        };
        using var trainer = new OdeInitTrainer(student, pairs.TimestepValues, settings, random);
        using var order = new Generator((ulong)o.Seed + 2);
        var batches = new BatchOrder(pairs.Count, o.BatchSize, order);
        using var metrics = new StreamWriter(Path.Combine(o.Out, MetricsFile));
        var clock = Stopwatch.StartNew();
        for (int step = 1; step <= o.Steps; step++)
        {
            using var scope = NewDisposeScope();
            var stepClock = Stopwatch.StartNew();
            var (odeLatent, prompts) = pairs.Batch(batches.Next().data<long>().ToArray());
            var r = trainer.TrainStep(odeLatent, prompts);
            double ms = stepClock.Elapsed.TotalMilliseconds;
            double eta = clock.Elapsed.TotalSeconds / step * (o.Steps - step);
            log.WriteLine($"ode-init step {step}/{o.Steps} loss={RecipeFiles.Num(r.Loss)} grad_norm={RecipeFiles.Num(r.GradNorm)} step_ms={ms:F1} eta_s={eta:F0}");
            metrics.WriteLine(JsonSerializer.Serialize(new Dictionary<string, object>
            {
                ["step"] = step, ["loss"] = r.Loss, ["grad_norm"] = r.GradNorm, ["unnormalized_loss"] = r.UnnormalizedLoss, ["step_ms"] = Math.Round(ms, 3),
            }));
            metrics.Flush();
            bool outOfTime = o.MaxSeconds > 0 && clock.Elapsed.TotalSeconds >= o.MaxSeconds && step < o.Steps;
            if (step % o.SaveEvery == 0 || step == o.Steps || outOfTime)
            {
                var folder = TinyDmdRun.CheckpointFolder(o.Out, step);
                GeneratorCheckpoint.Save(folder, student);
                RecipeFiles.WriteConfig(folder, config);
                log.WriteLine($"saved {folder}");
            }
            if (outOfTime)
            {
                log.WriteLine($"stopping after step {step} of {o.Steps}: --max-seconds {o.MaxSeconds:G} reached");
                break;
            }
        }
    }
}
