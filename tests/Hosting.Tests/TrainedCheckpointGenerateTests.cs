using SelfForcing.Actors;
using SelfForcing.Actors.Engines;
using SelfForcing.Hosting.Commands;
using SelfForcing.Hosting.Output;
using SelfForcing.Hosting.Training;
using SelfForcing.Model.Dit;
using SelfForcing.Training.Checkpoints;
using SelfForcing.Training.Dmd;
using SelfForcing.Training.Objectives;
using SelfForcing.Training.Optim;
using SelfForcing.Training.Randomness;
using static TorchSharp.torch;

namespace SelfForcing.Hosting.Tests;

/// <summary>
/// Train → save → <c>generate</c> loads the checkpoint (the tiny model, no <c>--wan-dir</c>) and samples exactly what the
/// in-memory trained generator samples.
/// </summary>
public sealed class TrainedCheckpointGenerateTests : IDisposable
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("sf-train-gen-");

    [Fact]
    public async Task Generate_with_the_trained_checkpoint_samples_what_the_in_memory_model_samples()
    {
        var settings = new DmdSettings
        {
            DfakeGenUpdateRatio = 1, Optimizers = new AdamWSettingsPair { Generator = new AdamWSettings(1e-3, 0.0, 0.999, 0.01), Critic = new AdamWSettings(1e-3, 0.0, 0.999, 0.01) },
        };
        var gen = new CausalWanModel(WanConfig.Tiny);
        using var real = new WanModel(TinyDmdRun.TeacherConfig);
        using var fake = new WanModel(WanConfig.Tiny);
        gen.InitializeRandom(1, std: 0.1);
        real.InitializeRandom(2, std: 0.1);
        fake.InitializeRandom(3, std: 0.1);
        using var encoder = new TinyPromptEncoder(WanConfig.Tiny.TextLen, WanConfig.Tiny.TextDim);
        using var prompts = encoder.Encode("a red fox");
        using var negative = encoder.Encode(settings.NegativePrompt);
        using var random = new SeededTrainingRandom(3);
        using (var trainer = new DmdTrainer(settings.CreateRollout(new GeneratorNetwork(gen)), new ScoreNetwork(real), new ScoreNetwork(fake),
                   [6, WanConfig.Tiny.InDim, 4, 4], settings, random))
        {
            for (int i = 0; i < 2; i++) trainer.TrainStep(prompts, prompts, negative);
            DmdCheckpoint.Save(_dir.FullName, trainer);
        }
        var checkpoint = Path.Combine(_dir.FullName, DmdCheckpoint.TorchFile);
        var pipeline = new PipelineSettings();

        // generate's loader (EngineFactory, as the verb calls it) vs the in-memory trained generator in the same engines.
        using var loaded = EngineFactory.Build(new WeightOptions(null, checkpoint, false, "float32", null, null), pipeline, TextWriter.Null);
        using var inMemory = PipelineEngines.Tiny(pipeline, gen);
        using var untrained = PipelineEngines.Tiny(pipeline, weightSeed: 1, localAttnSize: -1, sinkSize: 0);
        var fromFile = Sample(loaded);
        var fromMemory = Sample(inMemory);
        // Bitwise: the checkpoint holds the float32 weights bit for bit, loading copies bytes, and both engines run the
        // same sampler with the same seeded noise on the same CPU kernels in this process. Any difference is a bug
        // (other weights, another config or attention window), not rounding.
        Assert.True(fromFile.eq(fromMemory).all().item<bool>(), $"max |diff| {(fromFile - fromMemory).abs().max().item<float>():G3}");
        Assert.False(Sample(untrained).eq(fromMemory).all().item<bool>(), "the comparison cannot tell weights apart");

        // And the verb itself runs on the checkpoint, end to end (mp4 written).
        var (stdout, stderr) = (new StringWriter(), new StringWriter());
        int rc = await GenerateCommand.RunAsync(new GenerateCommand.GenerateOptions(["a red fox"], 42, _dir.FullName, 2, 16,
            new WeightOptions(null, checkpoint, false, "float32", null, null), null, null, 8, 8), stdout, stderr);
        Assert.True(rc == 0, stderr.ToString());
        Assert.Contains("a selfforcing train checkpoint", stderr.ToString());
        Assert.Single(Directory.GetFiles(_dir.FullName, "*.mp4"));
    }

    [Fact]
    public void A_checkpoint_of_another_shape_is_refused_before_loading()
    {
        var path = Path.Combine(_dir.FullName, "wrong.pt");
        using (var other = new CausalWanModel(WanConfig.Tiny with { Dim = 32, NumHeads = 2, FfnDim = 64 }))
            Model.Checkpoints.TorchZipWriter.Write(path, new Dictionary<string, object>
            {
                ["generator"] = other.named_parameters().ToDictionary(p => "model." + p.name, p => (object)p.parameter.detach()),
            });
        var problems = WeightFiles.Problems(new WeightOptions(null, path, false, "float32", null, null));
        Assert.Contains(problems, p => p.Contains("tiny model's checkpoint") && p.Contains("shape"));
    }

    /// <summary>Two chunks of one stream through the denoise engine (denoise, then commit), latents of both.</summary>
    private static Tensor Sample(PipelineEngines engines)
    {
        using var noGrad = no_grad();
        var spec = new StreamSpec("s", "a red fox", 42, 8, 8, 2, 16, "preview");
        using var cache = engines.Denoise.CreateCache(spec);
        var conditioning = engines.Text.Encode(spec.Prompt);
        var chunks = new List<Tensor>();
        for (int c = 0; c < 2; c++)
        {
            var x0 = engines.Denoise.DenoiseChunk(cache, spec, c, conditioning);
            engines.Denoise.CommitChunk(cache, c, x0, conditioning);
            chunks.Add(x0);
        }
        return cat(chunks, 1);
    }

    public void Dispose() => _dir.Delete(true);
}
