using SelfForcing.Actors.Engines;
using SelfForcing.Model.Dit;
using SelfForcing.Model.Sampling;
using SelfForcing.Training.Ode;
using SelfForcing.World;
using static TorchSharp.torch;

namespace SelfForcing.Hosting.Training;

/// <summary>
/// Clips of the tiny world from a model of the recipe, as frames for <see cref="World.Evaluation.WorldEvaluator"/>: the
/// bidirectional teacher through its Euler ODE (with CFG), or a causal student through the Self-Forcing sampler chunk by
/// chunk with a rolling KV cache — where a window of chunks late in an unbounded stream can be cut out (drift).
/// Captions come from held-out world seeds, so the scenes are ones the models never trained on.
/// </summary>
public sealed class WorldClipSampler : IDisposable
{
    private readonly WanModel? _teacher;
    private readonly CausalWanModel? _student;
    private readonly WorldTextEncodeEngine _text;
    private readonly Tensor _unconditional;

    public int OdeSteps { get; private init; } = 24;
    public double Shift { get; init; } = 5.0;
    public double GuidanceScale { get; private init; } = 3.0;
    /// <summary>The latents' decoder: a <c>train world-vae</c> file's (the model was trained on its latents), or null
    /// for <see cref="WorldLatents"/>. Owned by the sampler.</summary>
    public WorldAutoencoder? Vae { get; init; }
    private int LatentSize => Vae is null ? WorldModelFile.PixelLatentSide : WorldModelFile.VaeLatentSide;

    private WorldClipSampler(WanModel? teacher, CausalWanModel? student, WorldTextEncodeEngine text)
    {
        _teacher = teacher; _student = student; _text = text;
        _unconditional = text.Encode(WorldDataRun.Unconditional);
    }

    /// <summary>A <c>train teacher</c> folder with the world text encoder of <paramref name="text"/> (a <c>train world-text</c>
    /// file), or else the frozen one of <paramref name="textSeed"/>.</summary>
    public static WorldClipSampler FromTeacher(string folder, double guidanceScale = 3.0, int odeSteps = 24, long textSeed = 0, string? vae = null,
        string? text = null) =>
        new(RecipeFiles.LoadTeacher(folder), null, WorldDataRunOptions.TextEncoder(text, textSeed, 20, 32))
        {
            GuidanceScale = guidanceScale, OdeSteps = odeSteps, Vae = vae is null ? null : WorldAutoencoder.Load(vae),
        };

    /// <summary>A checkpoint folder (<c>train ode-init</c> or DMD) with the world text encoder of <paramref name="text"/>,
    /// or else the frozen one of <paramref name="textSeed"/>.</summary>
    public static WorldClipSampler FromCheckpoint(string folder, bool useEma, long textSeed = 0, string? vae = null, string? text = null)
    {
        var config = RecipeFiles.ReadConfig(Path.Combine(folder, RecipeFiles.ConfigFile)) with { LocalAttnSize = WorldModelFile.DefaultLocalAttnSize, SinkSize = 0 };
        var group = useEma && File.Exists(Path.Combine(folder, "generator_ema.safetensors")) ? "generator_ema" : "generator";
        var model = new CausalWanModel(config);
        using (var state = Model.Checkpoints.StateDict.Open(Path.Combine(folder, group + ".safetensors"))) state.WithPrefix("model.").LoadInto(model, group);
        model.eval();
        return new(null, model, WorldDataRunOptions.TextEncoder(text, textSeed, 20, 32))
        {
            Vae = vae is null ? null : WorldAutoencoder.Load(vae),
        };
    }

    /// <summary>A <see cref="WorldModelFile"/> (the shipped default model).</summary>
    public static WorldClipSampler FromWorldFile(string path)
    {
        var engines = WorldModelFile.Engines(path, new Actors.PipelineSettings());
        var denoise = (SelfForcingDenoiseEngine)engines.Denoise;
        engines.Decode.Dispose();
        return new(null, denoise.Model, (WorldTextEncodeEngine)engines.Text)
        {
            Vae = WorldModelFile.LatentSide(path) == WorldModelFile.VaeLatentSide ? WorldAutoencoder.Load(path, WorldModelFile.VaePrefix) : null,
        };
    }

    /// <summary>The held-out caption of world seed <paramref name="seed"/>.</summary>
    public static string Caption(long seed) => CaptionGrammar.Render(WorldVideo.Sample(WorldSettings.Default, seed).Caption);

    /// <summary>Chunks [skip, skip + chunks) of a clip of <paramref name="caption"/> (the teacher only makes the first ones).</summary>
    public RgbFrames Sample(string caption, long noiseSeed, int chunks, int skip = 0)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var cond = _text.Encode(caption);
        Tensor latents;
        if (_teacher is not null)
        {
            if (skip != 0) throw new ArgumentException("the teacher makes whole clips; --skip-chunks needs a student");
            using var gen = new TorchSharp.torch.Generator((ulong)noiseSeed);
            var noise = randn([1, chunks * 3, WorldLatents.Channels, LatentSize, LatentSize], generator: gen);
            var sampler = new TeacherOdeSampler(_teacher, new EulerSchedule(OdeSteps, Shift), GuidanceScale);
            latents = sampler.Sample(noise, cond, _unconditional)[0];
        }
        else
        {
            var model = _student!;
            var sampler = new SelfForcingSampler(model, SamplerSettings.Default with { NumFramePerBlock = model.Config.NumFramePerBlock });
            using var cache = model.CreateCache(1, Math.Max(model.Config.LocalAttnSize, model.Config.NumFramePerBlock), LatentSize, LatentSize, CPU, ScalarType.Float32);
            var kept = new List<Tensor>();
            int c = 0;
            foreach (var x0 in sampler.Generate(cache, cond, skip + chunks, new SeededNoiseSource(noiseSeed), LatentSize, LatentSize))
                if (c++ >= skip) kept.Add(x0[0].clone());
                else x0.Dispose();
            latents = cat(kept);
        }
        var pixels = Vae is null ? WorldLatents.Decode(latents.to(ScalarType.Float32)) : Vae.Decode(latents.to(ScalarType.Float32));
        return WorldLatents.ToRgb(pixels);
    }

    public void Dispose()
    {
        _teacher?.Dispose();
        _student?.Dispose();
        _text.Dispose();
        _unconditional.Dispose();
        Vae?.Dispose();
    }
}
