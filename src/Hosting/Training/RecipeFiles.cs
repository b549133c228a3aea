using System.Globalization;
using System.Text.Json;
using SelfForcing.Model.Checkpoints;
using SelfForcing.Model.Dit;
using static TorchSharp.torch;

namespace SelfForcing.Hosting.Training;

/// <summary>
/// Files the recipe commands read and write: a model's <c>config.json</c> (the reference keys <see cref="WanConfig.FromJson"/>
/// reads), a teacher folder (<c>teacher.safetensors</c> with Wan keys + <c>config.json</c>), and named tensors from a
/// safetensors file (latents, prompt embeddings).
/// </summary>
public static class RecipeFiles
{
    public const string ConfigFile = "config.json";
    public const string TeacherWeights = "teacher.safetensors";

    /// <summary>"tiny" (the built-in tiny DiT), "world" (the tiny world's) or a path to a reference <c>config.json</c>.</summary>
    public static WanConfig ReadConfig(string spec)
    {
        if (spec == "tiny") return WanConfig.Tiny;
        if (spec == "world") return WanConfig.World;
        if (!File.Exists(spec)) throw new ArgumentException($"model config '{spec}' is neither 'tiny', 'world' nor a config.json file");
        using var doc = JsonDocument.Parse(File.ReadAllText(spec));
        return WanConfig.FromJson(doc.RootElement);
    }

    /// <summary>The layout of a run that starts from the teacher folder <paramref name="initFrom"/> (its config), or else
    /// from random weights of <paramref name="modelConfig"/> (see <see cref="ReadConfig(string)"/>).</summary>
    public static WanConfig ReadConfig(string? initFrom, string modelConfig) =>
        initFrom is null ? ReadConfig(modelConfig) : ReadConfig(Path.Combine(initFrom, ConfigFile));

    public static void WriteConfig(string folder, WanConfig c) => File.WriteAllText(Path.Combine(folder, ConfigFile), c.ToJson());

    /// <summary>The teacher's own weights as <paramref name="file"/> of <paramref name="folder"/>, with its config.</summary>
    public static void SaveTeacher(string folder, WanModel teacher, string file = TeacherWeights)
    {
        using var scope = NewDisposeScope();
        SaveTeacher(folder, teacher.Config, teacher.named_parameters().Select(p => KeyValuePair.Create(p.name, p.parameter.detach())), file);
    }

    /// <summary>Given weights (e.g. a moving average) as the teacher of <paramref name="folder"/>; <paramref name="file"/>
    /// names another weights file beside it.</summary>
    public static void SaveTeacher(string folder, WanConfig config, IEnumerable<KeyValuePair<string, Tensor>> weights, string file = TeacherWeights)
    {
        Directory.CreateDirectory(folder);
        SafeTensorsWriter.Write(Path.Combine(folder, file), weights);
        WriteConfig(folder, config);
    }

    /// <summary>A teacher folder written by <see cref="SaveTeacher"/> (strict load), frozen.</summary>
    public static WanModel LoadTeacher(string folder)
    {
        var config = ReadConfig(Path.Combine(folder, ConfigFile));
        var model = new WanModel(config, init: WeightInit.Uninitialised);
        using (var state = StateDict.Open(Path.Combine(folder, TeacherWeights))) state.LoadInto(model, "teacher");
        foreach (var p in model.parameters()) p.requires_grad_(false);
        return model;
    }

    /// <summary>A model of the teacher's layout (the teacher itself, or the causal student it starts) takes the weights
    /// of the teacher folder, name by name.</summary>
    public static void CopyTeacherInto(string folder, TorchSharp.torch.nn.Module model)
    {
        using var teacher = LoadTeacher(folder);
        using var noGrad = no_grad();
        var source = teacher.named_parameters().ToDictionary(p => p.name, p => p.parameter);
        foreach (var (name, p) in model.named_parameters()) p.copy_(source[name]);
    }

    /// <summary>Reads the named tensors of a safetensors file; a missing required one is an error naming the file.</summary>
    public static Dictionary<string, Tensor> ReadTensors(string path, string[] required, string[]? optional = null)
    {
        if (!File.Exists(path)) throw new ArgumentException($"{path} does not exist");
        using var file = SafeTensorsFile.Open(path);
        var result = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        foreach (var name in required)
        {
            if (!file.Entries.ContainsKey(name))
                throw new ArgumentException($"{path} lacks '{name}' (has: {string.Join(", ", file.Entries.Keys)})");
            result[name] = file.Load(name).to(ScalarType.Float32);
        }
        foreach (var name in optional ?? [])
            if (file.Entries.ContainsKey(name)) result[name] = file.Load(name).to(ScalarType.Float32);
        return result;
    }

    /// <summary>The first <paramref name="frames"/> frames of clips [N, F, C, H, W] (0 = all; the <c>--frames</c> option of
    /// the train commands), taking every <paramref name="stride"/>-th frame from the first (<c>--frame-stride</c>: the
    /// same motion in fewer, further-apart frames); more than the clips have is an error naming <paramref name="path"/>.</summary>
    public static Tensor FirstFrames(Tensor latents, int frames, string path, int stride = 1)
    {
        if (stride < 1) throw new ArgumentException($"--frame-stride {stride} must be at least 1");
        long available = (latents.shape[1] + stride - 1) / stride;
        if (frames > available)
            throw new ArgumentException(stride == 1
                ? $"--frames {frames} is more than the {latents.shape[1]} frames of {path}'s clips"
                : $"--frames {frames} is more than the {available} frames that --frame-stride {stride} leaves of {path}'s {latents.shape[1]}-frame clips");
        var strided = stride == 1 ? latents : latents.index(TensorIndex.Colon, TensorIndex.Slice(0, null, stride));
        return frames > 0 ? strided.narrow(1, 0, frames) : strided;
    }

    public static string Num(double v) => v.ToString("G6", CultureInfo.InvariantCulture);
}
