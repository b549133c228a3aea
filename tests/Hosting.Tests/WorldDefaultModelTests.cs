using SelfForcing.Actors;
using SelfForcing.Actors.Engines;
using SelfForcing.Hosting.Training;
using SelfForcing.Model.Dit;
using SelfForcing.World;
using SelfForcing.World.Evaluation;
using static TorchSharp.torch;

namespace SelfForcing.Hosting.Tests;

/// <summary>The shipped tiny-world model: the default of generate without weights, and it follows its prompts.</summary>
public class WorldDefaultModelTests
{
    [Fact]
    public void A_world_model_file_round_trips_the_generator_and_the_text_encoder()
    {
        var path = Path.Combine(Path.GetTempPath(), $"sf-world-model-{Guid.NewGuid():N}.safetensors");
        try
        {
            using var generator = new CausalWanModel(WanConfig.World);
            generator.InitializeRandom(7, std: 0.05);
            using var text = new WorldTextEncodeEngine(WorldTextEncodeEngine.ConfigFor(20, 32), CPU, seed: 3);
            WorldModelFile.Save(path, generator, text, new Dictionary<string, string>());
            using var engines = WorldModelFile.Engines(path, new PipelineSettings());
            var loaded = ((SelfForcingDenoiseEngine)engines.Denoise).Model;
            Assert.Equal(WanConfig.World.PatchSize, loaded.Config.PatchSize);
            Assert.Equal(WorldModelFile.DefaultLocalAttnSize, loaded.Config.LocalAttnSize);
            var want = generator.named_parameters().ToDictionary(p => p.name, p => p.parameter);
            foreach (var (name, p) in loaded.named_parameters()) Assert.True(want[name].allclose(p, rtol: 0, atol: 0), name);
            using var a = text.Encode("a red square moves right");
            using var b = engines.Text.Encode("a red square moves right");
            Assert.True(a.allclose(b, rtol: 0, atol: 0));
            Assert.IsType<WorldDecodeEngine>(engines.Decode);
        }
        finally { File.Delete(path); }
    }

    [Fact]
    public void A_world_model_file_with_a_vae_streams_its_8x8_latents_and_decodes_them_through_it()
    {
        var path = Path.Combine(Path.GetTempPath(), $"sf-world-vae-model-{Guid.NewGuid():N}.safetensors");
        try
        {
            using var scope = NewDisposeScope();
            using var generator = new CausalWanModel(WanConfig.World);
            generator.InitializeRandom(7, std: 0.05);
            using var text = new WorldTextEncodeEngine(WorldTextEncodeEngine.ConfigFor(20, 32), CPU, seed: 3);
            manual_seed(5);
            using var vae = new WorldAutoencoder();
            vae.eval();
            var clip = WorldLatents.Pixels(WorldVideo.Sample(WorldSettings.Default with { Frames = 3 }, 11).Frames);
            using (no_grad()) vae.SetLatentStatistics(vae.Posterior(clip).Mean);
            WorldModelFile.Save(path, generator, text, new Dictionary<string, string>(), vae);
            Assert.Equal(WorldModelFile.VaeLatentSide, WorldModelFile.LatentSide(path));

            using var engines = WorldModelFile.Engines(path, new PipelineSettings());
            var decoder = Assert.IsType<WorldDecodeEngine>(engines.Decode);
            using var noGrad = no_grad();
            var latents = vae.Encode(clip);
            var (pixels, next) = decoder.Decode(WorldDecodeEngine.Name, decoder.Initial(WorldDecodeEngine.Name), latents.unsqueeze(0));
            next.Dispose();
            Assert.Equal([1, 3, 3, 64, 64], pixels.shape);
            // The shipped VAE's decoder, enlarged 2x (nearest), clamped: not the space-to-depth map's reading of the same values.
            var expected = vae.Decode(latents).clamp(-1, 1).repeat_interleave(2, 2).repeat_interleave(2, 3);
            Assert.True(pixels[0].allclose(expected, rtol: 1e-5, atol: 1e-5), "the stream is not decoded by the file's VAE");

            // A file without one keeps the 2x2 space-to-depth latents.
            WorldModelFile.Save(path, generator, text, new Dictionary<string, string>());
            Assert.Equal(WorldModelFile.PixelLatentSide, WorldModelFile.LatentSide(path));
        }
        finally { File.Delete(path); }
    }

    [Fact]
    public void Generate_without_weights_writes_a_world_video()
    {
        Assert.True(File.Exists(WorldModelFile.DefaultPath), $"the shipped model is missing: {WorldModelFile.DefaultPath}");
        var dir = Directory.CreateTempSubdirectory("sf-gen-world-");
        try
        {
            var stdout = new StringWriter();
            var stderr = new StringWriter();
            int rc = Cli.Run(["generate", "--prompt", "a red square moves right", "--out-dir", dir.FullName], stdout, stderr);
            Assert.True(rc == 0, stderr.ToString());
            Assert.Contains("tiny world model", stderr.ToString());
            var file = Assert.Single(Directory.GetFiles(dir.FullName, "*.mp4"));
            Assert.DoesNotContain("tiny-noise", file);
            var frames = Output.RgbVideoReader.ReadVideo(file);
            Assert.Equal(2 * WorldSettings.Default.Width, frames.Width); // the world VAE decodes 8×8 latents to 32×32, shown ×2
        }
        finally { dir.Delete(true); }
    }

    /// <summary>The README's figures (first 60 held-out clips: colour 91.9%, shape 75.7%, direction 90.5%; chance is
    /// 20%, 33% and 25%) at thresholds several points under them, for other CPUs' kernels (one object of these 74 is
    /// 1.4 points); shape at the 70%. All three are learnt, at the goals over 200 clips (91.1 / 78.2 /
    /// 85.5%). Drift is the next test's.</summary>
    [Fact]
    [Trait("Category", "Slow")]
    public void The_shipped_model_follows_its_prompts()
    {
        using var sampler = WorldClipSampler.FromWorldFile(WorldModelFile.DefaultPath);
        var evaluator = new WorldEvaluator();
        var start = new WorldAccuracy();
        for (long seed = 9_000_000; seed < 9_000_060; seed++)
        {
            var caption = WorldClipSampler.Caption(seed);
            start.Add(WorldScore.Of(CaptionGrammar.Parse(caption), evaluator.Observe(sampler.Sample(caption, seed, chunks: 3))));
        }
        Assert.True(start.Rate(WorldAttribute.Colour) >= Thresholds.Colour, $"colour {start.Rate(WorldAttribute.Colour):P0}");
        Assert.True(start.Rate(WorldAttribute.Shape) >= Thresholds.Shape, $"shape {start.Rate(WorldAttribute.Shape):P0}");
        Assert.True(start.Rate(WorldAttribute.Direction) >= Thresholds.Direction, $"direction {start.Rate(WorldAttribute.Direction):P0}");
    }

    /// <summary>The "no drift" goal on the first 100 held-out streams: chunks 20–30 of each 30-chunk stream read
    /// within 10 points of chunks 1–3 of the same stream on colour, axis and count (direction is not the caption's late:
    /// a bounce reverses it). Measured over these 100 (README, nineteenth session's model): colour 88.7 → 84.7%, axis
    /// 87.1 → 81.5%, count 91 → 85%; over 200: 91.1 → 86.3%, 87.9 → 83.9%, 90.5 → 87%. Shape is within 10 points over
    /// 200 (78.2 → 69.8%) but 9.7 over these 100 (75.0 → 65.3%): too near the line to assert on other CPUs' kernels.
    /// Fewer streams would not do: a 40-stream figure moved by ±5 points, a 100-stream one by about ±3 (one standard
    /// error).</summary>
    [Fact]
    [Trait("Category", "Slow")]
    public void The_shipped_model_does_not_drift_late_in_a_long_stream()
    {
        const int chunks = 30, framesPerChunk = 3, lateFrom = 19;
        using var sampler = WorldClipSampler.FromWorldFile(WorldModelFile.DefaultPath);
        var evaluator = new WorldEvaluator();
        var early = new WorldAccuracy();
        var late = new WorldAccuracy();
        for (long seed = 9_000_000; seed < 9_000_100; seed++)
        {
            var caption = WorldClipSampler.Caption(seed);
            var want = CaptionGrammar.Parse(caption);
            var stream = sampler.Sample(caption, seed, chunks);
            early.Add(WorldScore.Of(want, evaluator.Observe(Frames(stream, 0, 3 * framesPerChunk))));
            late.Add(WorldScore.Of(want, evaluator.Observe(Frames(stream, lateFrom * framesPerChunk, (chunks - lateFrom) * framesPerChunk))));
        }
        foreach (var attribute in new[] { WorldAttribute.Colour, WorldAttribute.Axis, WorldAttribute.Count })
            Assert.True(late.Rate(attribute) >= early.Rate(attribute) - 0.10,
                $"{attribute}: chunks 20-30 {late.Rate(attribute):P1} against chunks 1-3 {early.Rate(attribute):P1}");
        Assert.True(early.Rate(WorldAttribute.Colour) >= Thresholds.Colour, $"colour {early.Rate(WorldAttribute.Colour):P0}");
    }

    private static RgbFrames Frames(RgbFrames all, int first, int count) =>
        new(count, all.Width, all.Height, all.Data.AsSpan(first * all.FrameBytes, count * all.FrameBytes).ToArray());

    private static class Thresholds
    {
        public const double Colour = 0.86, Shape = 0.70, Direction = 0.84;
    }
}
