using System.CommandLine;
using SelfForcing.Hosting.Training;
using SelfForcing.Training.Config;

namespace SelfForcing.Hosting.Commands;

/// <summary><c>selfforcing train</c>: DMD training of tiny random models (the loop, checkpoints and resume; no real weights).</summary>
public static class TrainCommand
{
    public static Command Create(TextWriter? stdout = null, TextWriter? stderr = null)
    {
        var steps = new Option<int>("--steps") { Description = "trainer steps to run in this invocation", DefaultValueFactory = _ => 10 };
        var outDir = new Option<string>("--out") { Description = "folder for checkpoint_model_NNNNNN/ and metrics.jsonl", DefaultValueFactory = _ => "train-out" };
        var resume = new Option<string?>("--resume") { Description = "a checkpoint_model_NNNNNN folder to continue from (same --seed)" };
        var seed = new Option<long>("--seed") { Description = "seed of the weights, prompts and training draws", DefaultValueFactory = _ => 0 };
        var saveEvery = new Option<int>("--save-every") { Description = "checkpoint interval in steps (log_iters); the last step is always saved", DefaultValueFactory = _ => 50 };
        var config = new Option<string?>("--config") { Description = "a reference-style YAML config (keys of configs/self_forcing_dmd.yaml), laid over the reference defaults" };
        var prompts = new Option<string?>("--prompts") { Description = "prompt file, one prompt a line (default: the config's data_path if your config sets it, else random embeddings)" };
        var embeddingCache = new Option<string?>("--embedding-cache") { Description = "folder of cached text embeddings (default ~/.cache/selfforcing/text-embeddings)" };
        var devices = new Option<string?>("--devices") { Description = "comma-separated devices, one data-parallel replica each (e.g. cuda:0,cuda:1); batch_size is per device" };
        var teacher = new Option<string?>("--teacher") { Description = "a train teacher folder: the real score, and the critic's starting weights (needs --generator)" };
        var generator = new Option<string?>("--generator") { Description = "a train ode-init checkpoint folder: the generator's starting weights (needs --teacher)" };
        var promptEmbeds = new Option<string?>("--prompt-embeds") { Description = "safetensors with prompt_embeds [N, L, D] and negative_prompt_embeds [1, L, D] (e.g. train world-data's)" };
        var frames = new Option<int>("--frames") { Description = "latent frames of a rollout (with --teacher)", DefaultValueFactory = _ => 21 };
        var height = new Option<int>("--height") { Description = "latent height (with --teacher)", DefaultValueFactory = _ => 16 };
        var width = new Option<int>("--width") { Description = "latent width (with --teacher)", DefaultValueFactory = _ => 16 };
        var scoreWindow = new Option<int?>("--score-window") { Description = "latent frames of the window of each rollout the DMD loss and critic score, drawn per step (whole chunks; default: the whole rollout)" };
        var cmd = new Command("train", "DMD training: of tiny random models, or of the recipe's ODE-initialised student against its teacher (--teacher, --generator).")
        {
            steps, outDir, resume, seed, saveEvery, config, prompts, embeddingCache, devices, teacher, generator, promptEmbeds, frames, height, width, scoreWindow,
        };
        TrainRecipeCommands.AddTo(cmd, stdout, stderr);
        cmd.SetAction(parse =>
        {
            var output = stdout ?? Console.Out;
            try
            {
                var cfg = TrainingConfig.Load(parse.GetValue(config));
                foreach (var warning in cfg.Warnings) (stderr ?? Console.Error).WriteLine($"warning: {warning}");
                bool Given(Option o) => parse.GetResult(o) is { Implicit: false };
                string? teacherDir = parse.GetValue(teacher), generatorDir = parse.GetValue(generator);
                if ((teacherDir is null) != (generatorDir is null)) throw new ArgumentException("--teacher and --generator go together");
                var models = teacherDir is null ? null : new RecipeModels(teacherDir, generatorDir!,
                    [parse.GetValue(frames), RecipeFiles.ReadConfig(Path.Combine(teacherDir, RecipeFiles.ConfigFile)).InDim, parse.GetValue(height), parse.GetValue(width)]);
                // An explicit flag wins over the config, the config over the reference defaults.
                TinyDmdRun.Run(new TrainOptions(parse.GetValue(steps), parse.GetValue(outDir)!, parse.GetValue(resume),
                    Given(seed) ? parse.GetValue(seed) : cfg.Settings.Seed, Given(saveEvery) ? parse.GetValue(saveEvery) : cfg.Settings.LogIters)
                {
                    Settings = ScoreWindowOf(cfg.Settings, parse.GetValue(scoreWindow), parse.GetValue(frames)),
                    Prompts = parse.GetValue(prompts) ?? (cfg.DataPathFromUser ? cfg.DataPath : null),
                    EmbeddingCache = parse.GetValue(embeddingCache),
                    Devices = parse.GetValue(devices)?.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries),
                    Models = models,
                    PromptEmbeds = parse.GetValue(promptEmbeds),
                }, output);
                return 0;
            }
            catch (Exception e) when (e is ArgumentException or InvalidOperationException or IOException or InvalidDataException)
            {
                (stderr ?? Console.Error).WriteLine($"error: {e.Message}");
                return 1;
            }
        });
        return cmd;
    }

    private static SelfForcing.Training.Dmd.DmdSettings ScoreWindowOf(SelfForcing.Training.Dmd.DmdSettings settings, int? window, int frames)
    {
        if (window is not { } w) return settings;
        if (w <= 0 || w > frames || w % settings.NumFramePerBlock != 0)
            throw new ArgumentException($"--score-window {w} must be whole chunks of {settings.NumFramePerBlock} frames, at most the rollout's --frames {frames}");
        return settings with { ScoreWindowFrames = w };
    }
}
