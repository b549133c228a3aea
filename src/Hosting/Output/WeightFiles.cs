using System.Text.Json;
using SelfForcing.Model.Checkpoints;
using SelfForcing.Model.Dit;

namespace SelfForcing.Hosting.Output;

/// <summary>The files of a Wan2.1-T2V-1.3B folder, named once (as the reference lays them out).</summary>
public static class WanFolder
{
    public const string Config = "config.json";
    public const string TextEncoder = "models_t5_umt5-xxl-enc-bf16.pth";
    public const string Vae = "Wan2.1_VAE.pth";
    public static readonly string Tokenizer = Path.Combine("google", "umt5-xxl");
    public static readonly string[] TokenizerModels = ["spiece.model", "tokenizer.model"];
}

/// <summary>Every problem found with the weight files, one line each; thrown before any model is built.</summary>
public sealed class WeightFilesException(IReadOnlyList<string> problems)
    : IOException($"{problems.Count} problem(s) with the weight files: {string.Join("; ", problems)}")
{
    public IReadOnlyList<string> Problems { get; } = problems;
}

/// <summary>
/// Checks every file that <c>--wan-dir</c>, <c>--checkpoint</c> and <c>--taehv</c> imply before anything heavy
/// loads: that it exists, that its header is the right format (safetensors header or torch zip with data.pkl),
/// that its top-level groups are the expected ones, and, for the generator, every key and shape against the
/// config (headers only). Costs milliseconds: nothing but headers and pickles is read.
/// </summary>
public static class WeightFiles
{
    public static IReadOnlyList<string> Problems(WeightOptions w)
    {
        var problems = new List<string>();
        if (w.WanDir is null)
        {
            // Without --wan-dir a checkpoint is the tiny model's (selfforcing train writes those).
            if (w.Checkpoint is not null)
                CheckTinyGenerator(problems, w);
            if (w.Taehv is not null) problems.Add("--taehv needs --wan-dir (the Wan2.1-T2V-1.3B folder with config, T5 and VAE)");
            if (w.Model is not (WeightOptions.World or WeightOptions.TinyRandom))
                problems.Add($"--model must be {WeightOptions.World} or {WeightOptions.TinyRandom}, got '{w.Model}'");
            else if (EngineFactory.IsWorld(w) && !File.Exists(Actors.Engines.WorldModelFile.DefaultPath))
                problems.Add($"missing the shipped world model {Actors.Engines.WorldModelFile.DefaultPath} (or run with --model tiny-random)");
            return problems;
        }
        if (!Directory.Exists(w.WanDir))
        {
            problems.Add($"--wan-dir '{w.WanDir}' does not exist");
            return problems;
        }

        bool configOk = Check(problems, Path.Combine(w.WanDir, WanFolder.Config), "the DiT config (--wan-dir)", ReadConfig);
        if (w.Checkpoint is null)
            CheckGenerator(problems, w.WanDir, w.WanDir, null, false, "the Wan2.1 DiT weights (--wan-dir)", configOk);
        else
            CheckGenerator(problems, w.WanDir, w.Checkpoint, w.Checkpoint, w.UseEma, "the Self-Forcing checkpoint (--checkpoint)", configOk);

        Check(problems, Path.Combine(w.WanDir, WanFolder.TextEncoder), "the UMT5-XXL text encoder (--wan-dir)",
            p => Groups(p, ["token_embedding", "blocks", "norm"]));
        var tokenizerDir = Path.Combine(w.WanDir, WanFolder.Tokenizer);
        if (!WanFolder.TokenizerModels.Any(m => File.Exists(Path.Combine(tokenizerDir, m))))
            problems.Add($"missing the UMT5 tokenizer (--wan-dir): no {string.Join(" or ", WanFolder.TokenizerModels)} in {tokenizerDir}");
        Check(problems, Path.Combine(w.WanDir, WanFolder.Vae), "the Wan VAE (--wan-dir)", p => Groups(p, ["conv2", "decoder"]));
        if (w.Taehv is not null) Check(problems, w.Taehv, "the TAEHV decoder (--taehv)", p => Groups(p, ["decoder"]));
        return problems;
    }

    /// <summary>Throws <see cref="WeightFilesException"/> listing every problem, if there is any.</summary>
    public static void Validate(WeightOptions w)
    {
        var problems = Problems(w);
        if (problems.Count > 0) throw new WeightFilesException(problems);
    }

    /// <summary>The tiny generator's config as <c>generate</c> builds it (attention options from the command line).</summary>
    public static WanConfig TinyConfig(WeightOptions w) => WanConfig.Tiny with { LocalAttnSize = w.LocalAttnSize ?? -1, SinkSize = w.SinkSize ?? 0 };

    private static void CheckTinyGenerator(List<string> problems, WeightOptions w)
    {
        const string what = "the tiny model's checkpoint (--checkpoint without --wan-dir)";
        if (!File.Exists(w.Checkpoint))
        {
            problems.Add(Directory.Exists(w.Checkpoint) ? $"{what} is a folder, expected a file: {w.Checkpoint}" : $"missing {what}: {w.Checkpoint}");
            return;
        }
        Check(problems, w.Checkpoint!, what, p => WanCheckpointLoader.Check(TinyConfig(w), p, w.UseEma));
    }

    private static void CheckGenerator(List<string> problems, string wanDir, string path, string? checkpoint, bool useEma, string what, bool configOk)
    {
        if (checkpoint is not null && !File.Exists(checkpoint))
        {
            problems.Add(Directory.Exists(checkpoint) ? $"{what} is a folder, expected a file: {checkpoint}" : $"missing {what}: {checkpoint}");
            return;
        }
        if (!configOk)
        {
            // Without a config there are no expected shapes; the format can still be checked.
            Check(problems, path, what, _ => { });
            return;
        }
        Check(problems, path, what, _ => WanCheckpointLoader.Check(wanDir, checkpoint, useEma));
    }

    /// <summary>Runs one check of an existing, readable file; a failure becomes one line naming the file and what it is.</summary>
    private static bool Check(List<string> problems, string path, string what, Action<string> check)
    {
        if (!File.Exists(path) && !Directory.Exists(path))
        {
            problems.Add($"missing {what}: {path}");
            return false;
        }
        try
        {
            if (File.Exists(path))
                using (File.OpenRead(path)) { }
            if (!path.EndsWith(".json", StringComparison.OrdinalIgnoreCase))
                using (StateDict.Open(path)) { }
            check(path);
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or CheckpointFormatException or InvalidDataException
                                      or JsonException or ArgumentException or NotSupportedException or KeyNotFoundException)
        {
            var message = e.Message.ReplaceLineEndings(" ");
            problems.Add(message.Contains(path, StringComparison.Ordinal) ? $"{what}: {message}" : $"{what} ({path}): {message}");
            return false;
        }
    }

    private static void ReadConfig(string path)
    {
        var folder = Path.GetDirectoryName(path)!;
        WanCheckpointLoader.ReadConfig(folder);
    }

    private static void Groups(string path, string[] expected)
    {
        using var sd = StateDict.Open(path);
        var groups = sd.Groups().ToHashSet(StringComparer.Ordinal);
        var missing = expected.Where(g => !groups.Contains(g)).ToList();
        if (missing.Count > 0)
            throw new CheckpointFormatException($"{path}: no '{string.Join("', '", missing)}' tensors; top-level groups: {string.Join(", ", groups.Take(12))}");
    }
}
