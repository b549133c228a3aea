using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using SelfForcing.Model.Dit;
using SelfForcing.Training.Checkpoints;
using SelfForcing.Training.Data;
using SelfForcing.Training.Dmd;
using SelfForcing.Training.Objectives;
using SelfForcing.Training.Progress;
using SelfForcing.Training.Randomness;
using TorchSharp;
using static TorchSharp.torch;

namespace SelfForcing.Hosting.Training;

/// <param name="Settings">The trainer's settings (from <c>--config</c>); null = the reference defaults.</param>
/// <param name="Prompts">A prompt file (one a line); null = seeded random embeddings.</param>
/// <param name="EmbeddingCache">Folder of cached text embeddings (shared across runs).</param>
/// <param name="Devices">One replica per device (data parallel); null = one on the CPU.</param>
public sealed record TrainOptions(int Steps, string Out, string? Resume, long Seed, int SaveEvery)
{
    public DmdSettings? Settings { get; init; }
    public string? Prompts { get; init; }
    public string? EmbeddingCache { get; init; }
    public IReadOnlyList<string>? Devices { get; init; }
    /// <summary>The recipe's models instead of random ones: a <c>train teacher</c> folder is the real score and the
    /// critic's starting weights (and gives the config), a <c>train ode-init</c> checkpoint the generator's.</summary>
    public RecipeModels? Models { get; init; }
    /// <summary>A safetensors file of <c>prompt_embeds</c> [N, L, D] and <c>negative_prompt_embeds</c> [1, L, D]
    /// (e.g. <c>train world-data</c>'s) instead of a prompt file through the tiny text encoder.</summary>
    public string? PromptEmbeds { get; init; }
}

/// <param name="Teacher">A <c>train teacher</c> folder.</param>
/// <param name="Generator">A checkpoint folder with <c>generator.safetensors</c> (<c>train ode-init</c>'s).</param>
/// <param name="LatentShape">[F, C, h, w] of the generated clips.</param>
public sealed record RecipeModels(string Teacher, string Generator, long[] LatentShape);

/// <summary>
/// DMD training of tiny random models (no weights; the text encoder is the tiny random one, or the prompt embeddings are
/// seeded random tensors): the whole loop — rollout, DMD and critic losses, AdamW, EMA, checkpoints, resume, data
/// parallel — at a size that runs in seconds. Checkpoints go to <c>OUT/checkpoint_model_NNNNNN/</c> as the reference
/// names them, one JSON line of metrics per step to <c>OUT/metrics.jsonl</c> (appended on resume), and the loss curves
/// to <c>OUT/losses.svg</c> at every save.
/// </summary>
public static class TinyDmdRun
{
    public const string MetricsFile = "metrics.jsonl";
    public const string PlotFile = "losses.svg";
    public const string RunFile = "run.json";
    public static readonly WanConfig Config = WanConfig.Tiny;
    public static readonly WanConfig TeacherConfig = WanConfig.Tiny with { NumLayers = 3 };
    private static readonly long[] LatentShape = [6, WanConfig.Tiny.InDim, 4, 4];
    private static readonly string[] LossKeys = ["critic_loss", "generator_loss"];

    public static string CheckpointFolder(string outDir, long step) => Path.Combine(outDir, $"checkpoint_model_{step:D6}");

    /// <summary>Where cached text embeddings live unless <c>--embedding-cache</c> says otherwise.</summary>
    public static string DefaultEmbeddingCache() =>
        Path.Combine(Environment.GetEnvironmentVariable("XDG_CACHE_HOME") is { Length: > 0 } x ? x
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache"), "selfforcing", "text-embeddings");

    public static void Run(TrainOptions o, TextWriter log)
    {
        if (o.Steps < 1 || o.Steps > 100_000) throw new ArgumentException("--steps must be between 1 and 100000");
        if (o.SaveEvery < 1) throw new ArgumentException("--save-every must be at least 1");
        var settings = (o.Settings ?? new DmdSettings()).Validate();
        var devices = (o.Devices is { Count: > 0 } d ? d : ["cpu"]).Select(Model.TorchRuntime.ParseDevice).ToList();
        if (o.Prompts is not null && o.PromptEmbeds is not null) throw new ArgumentException("give --prompts or --prompt-embeds, not both");
        var config = o.Models is null ? Config : RecipeFiles.ReadConfig(Path.Combine(o.Models.Teacher, RecipeFiles.ConfigFile));
        var latentShape = o.Models?.LatentShape ?? LatentShape;
        var data = o.PromptEmbeds is not null ? PromptData.FromFile(o.PromptEmbeds)
            : o.Prompts is null ? null : PromptData.Load(o.Prompts, o.EmbeddingCache ?? DefaultEmbeddingCache(), settings.NegativePrompt, log);
        Directory.CreateDirectory(o.Out);
        int batch = settings.BatchSize * devices.Count;

        // The frozen teacher is not part of a trainer checkpoint (it is the pretrained model), so it, the initial
        // weights and the prompts all come from the seed; a resume must use the seed the run started with.
        var replicas = devices.Select(device => o.Models is null ? Replica.Create(o.Seed, settings, device) : Replica.Load(o.Models, config, settings, device)).ToList();
        try
        {
            using var promptGenerator = new Generator((ulong)o.Seed + 4);
            using var randomPrompts = randn([batch, config.TextLen, config.TextDim], generator: promptGenerator);
            using var randomNegative = randn([1, config.TextLen, config.TextDim], generator: promptGenerator);
            using var random = new SeededTrainingRandom(o.Seed);
            var primary = replicas[0];
            using var trainer = new DmdTrainer(primary.Rollout, primary.Real, primary.Fake, latentShape, settings, random,
                replicas.Skip(1).Select(r => (r.Rollout, r.Real, r.Fake)).ToList());
            if (o.Resume is not null)
            {
                var run = ReadRun(o.Resume);
                if (run != o.Seed) throw new ArgumentException($"{o.Resume} was trained with --seed {run}; resume with the same seed (got {o.Seed})");
                DmdCheckpoint.Restore(o.Resume, trainer);
                log.WriteLine($"resumed from {o.Resume} at step {trainer.Step}");
            }
            var batches = data is null ? null : new PromptBatches(data.Prompts.Count, batch, settings.DfakeGenUpdateRatio, o.Seed);
            var device = devices[0];
            using var negative = (data?.Negative ?? randomNegative).expand(batch, -1, -1).to(device);
            using var fixedPrompts = randomPrompts.to(device);
            Tensor Batch(int[] rows) => cat(rows.Select(i => data!.Embeddings[i]).ToArray()).to(device);

            using var metrics = new StreamWriter(Path.Combine(o.Out, MetricsFile), append: true);
            long first = trainer.Step, last = trainer.Step + o.Steps;
            var clock = Stopwatch.StartNew();
            while (trainer.Step < last)
            {
                using var scope = NewDisposeScope();
                long step = trainer.Step;
                bool genStep = step % settings.DfakeGenUpdateRatio == 0;
                var criticPrompts = batches is null ? fixedPrompts : Batch(batches.Critic(step));
                var genPrompts = batches is null || !genStep ? criticPrompts : Batch(batches.Generator(step)); // ignored on critic-only steps
                var stepClock = Stopwatch.StartNew();
                var r = trainer.TrainStep(genPrompts, criticPrompts, negative);
                double ms = stepClock.Elapsed.TotalMilliseconds;
                var eta = TimeSpan.FromTicks(clock.Elapsed.Ticks / (r.Step - first) * (last - r.Step));
                log.WriteLine(ProgressLine(r, last, ms, eta));
                metrics.WriteLine(MetricsLine(r, ms));
                metrics.Flush();
                if (r.Step % o.SaveEvery == 0 || r.Step == last) Save(o, trainer, log);
            }
        }
        finally
        {
            foreach (var r in replicas) r.Dispose();
            data?.Dispose();
        }
    }

    /// <summary>The three networks of one device, initialised from the seed (followers are overwritten by the primary's weights).</summary>
    private sealed record Replica(CausalWanModel Gen, WanModel RealModel, WanModel FakeModel, SelfForcingRollout Rollout, ScoreNetwork Real, ScoreNetwork Fake)
        : IDisposable
    {
        public static Replica Create(long seed, DmdSettings settings, Device device)
        {
            var gen = new CausalWanModel(Config, device);
            var real = new WanModel(TeacherConfig, device);
            var fake = new WanModel(Config, device);
            gen.InitializeRandom(seed + 1, std: 0.1);
            real.InitializeRandom(seed + 2, std: 0.1);
            fake.InitializeRandom(seed + 3, std: 0.1);
            var generator = new GeneratorNetwork(gen, settings.GeneratorTimestepShift);
            return new Replica(gen, real, fake, settings.CreateRollout(generator), new ScoreNetwork(real), new ScoreNetwork(fake));
        }

        /// <summary>The recipe's networks: the frozen teacher as real score, a trainable copy of it as the critic, the
        /// ODE-initialised student as generator.</summary>
        public static Replica Load(RecipeModels m, WanConfig config, DmdSettings settings, Device device)
        {
            var gen = new CausalWanModel(config, device);
            GeneratorCheckpoint.Load(m.Generator, gen);
            var real = RecipeFiles.LoadTeacher(m.Teacher).to(device);
            var fake = new WanModel(config, device);
            using (var noGrad = no_grad())
            {
                var source = real.named_parameters().ToDictionary(p => p.name, p => p.parameter);
                foreach (var (name, p) in fake.named_parameters()) p.copy_(source[name]);
            }
            var generator = new GeneratorNetwork(gen, settings.GeneratorTimestepShift);
            return new Replica(gen, real, fake, settings.CreateRollout(generator), new ScoreNetwork(real), new ScoreNetwork(fake));
        }

        public void Dispose() { Gen.Dispose(); RealModel.Dispose(); FakeModel.Dispose(); }
    }

    /// <summary>The prompt file's embeddings (through the on-disk cache) and the negative prompt's.</summary>
    private sealed class PromptData : IDisposable
    {
        public required IReadOnlyList<string> Prompts { get; init; }
        public required List<Tensor> Embeddings { get; init; }
        public required Tensor Negative { get; init; }

        public static PromptData Load(string path, string cacheFolder, string negativePrompt, TextWriter log)
        {
            var prompts = PromptFile.Read(path);
            using var encoder = new TinyPromptEncoder(Config.TextLen, Config.TextDim);
            var cache = new PromptEmbeddingCache(cacheFolder, encoder, log);
            var embeddings = prompts.Select(cache.Get).ToList();
            var negative = cache.Get(negativePrompt);
            log.WriteLine($"text embeddings: {prompts.Count} prompts + the negative prompt; {cache.Reused} from the cache, " +
                          $"{cache.Computed} computed, {cache.Recomputed} recomputed (damaged) in {cache.Folder}");
            return new PromptData { Prompts = prompts, Embeddings = embeddings, Negative = negative };
        }

        /// <summary>Precomputed embeddings: one prompt per row of <c>prompt_embeds</c> (named by its row number).</summary>
        public static PromptData FromFile(string path)
        {
            var t = RecipeFiles.ReadTensors(path, ["prompt_embeds", "negative_prompt_embeds"]);
            var all = t["prompt_embeds"];
            var embeddings = Enumerable.Range(0, (int)all.shape[0]).Select(i => all.narrow(0, i, 1).clone()).ToList();
            all.Dispose();
            return new PromptData { Prompts = embeddings.Select((_, i) => $"#{i}").ToList(), Embeddings = embeddings, Negative = t["negative_prompt_embeds"] };
        }

        public void Dispose()
        {
            foreach (var t in Embeddings) t.Dispose();
            Negative.Dispose();
        }
    }

    private static void Save(TrainOptions o, DmdTrainer trainer, TextWriter log)
    {
        var folder = CheckpointFolder(o.Out, trainer.Step);
        DmdCheckpoint.Save(folder, trainer);
        File.WriteAllText(Path.Combine(folder, RunFile), JsonSerializer.Serialize(new Dictionary<string, object> { ["config"] = o.Models is null ? "tiny" : "recipe", ["seed"] = o.Seed }));
        if (o.Models is not null) RecipeFiles.WriteConfig(folder, trainer.Rollout.Generator.Model.Config);
        WritePlot(o.Out);
        log.WriteLine($"saved {folder}");
    }

    /// <summary>losses.svg from the whole of metrics.jsonl (so a resumed run's plot covers the steps before the resume too).</summary>
    public static void WritePlot(string outDir)
    {
        var points = LossKeys.ToDictionary(k => k, _ => new List<(long, double)>());
        foreach (var line in File.ReadLines(Path.Combine(outDir, MetricsFile)))
        {
            using var doc = JsonDocument.Parse(line);
            long step = doc.RootElement.GetProperty("step").GetInt64();
            foreach (var key in LossKeys)
                if (doc.RootElement.TryGetProperty(key, out var v) && v.ValueKind == JsonValueKind.Number)
                    points[key].Add((step, v.GetDouble()));
        }
        LossPlot.Write(Path.Combine(outDir, PlotFile), LossKeys.Select(k => new LossSeries(k, points[k])).ToList());
    }

    private static long ReadRun(string folder)
    {
        var path = Path.Combine(folder, RunFile);
        if (!File.Exists(path)) throw new ArgumentException($"{folder} is not a checkpoint of selfforcing train (no {RunFile})");
        using var doc = JsonDocument.Parse(File.ReadAllText(path));
        return doc.RootElement.GetProperty("seed").GetInt64();
    }

    private static string ProgressLine(DmdStepReport r, long last, double ms, TimeSpan eta)
    {
        var inv = CultureInfo.InvariantCulture;
        var line = string.Create(inv, $"step {r.Step}/{last} critic_loss={r.CriticLoss:G6} critic_grad_norm={r.CriticGradNorm:G6}");
        if (r.TrainedGenerator)
            line += string.Create(inv, $" generator_loss={r.GeneratorLoss:G6} generator_grad_norm={r.GeneratorGradNorm:G6} dmd_grad_norm={r.DmdGradientNorm:G6}");
        return line + string.Create(inv, $" ema={(r.EmaActive ? "on" : "off")} eta={(int)eta.TotalHours}h{eta.Minutes:D2}m{eta.Seconds:D2}s step_ms={ms:F1}");
    }

    private static string MetricsLine(DmdStepReport r, double ms) => JsonSerializer.Serialize(new Dictionary<string, object?>
    {
        ["step"] = r.Step, ["trained_generator"] = r.TrainedGenerator, ["generator_loss"] = r.GeneratorLoss,
        ["generator_grad_norm"] = r.GeneratorGradNorm, ["dmd_gradient_norm"] = r.DmdGradientNorm, ["critic_loss"] = r.CriticLoss,
        ["critic_grad_norm"] = r.CriticGradNorm, ["ema"] = r.EmaActive, ["step_ms"] = Math.Round(ms, 3),
    });
}
