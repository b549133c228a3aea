using System.Diagnostics;
using SelfForcing.Actors.Engines;
using SelfForcing.Actors.Video;
using SelfForcing.Model.Dit;
using static TorchSharp.torch;

namespace SelfForcing.Hosting.Bench;

/// <param name="StepMs">Median wall time of each denoising step (0-based).</param>
/// <param name="DenoiseOnlyFps">Pixel frames per chunk over the DiT's chunk time (steps + context pass): no decode, no encode.</param>
public sealed record StageFigures(double TextEncodeMs, IReadOnlyList<double> StepMs, double ContextMs, double DecodeMs, double EncodeMs,
    long Rss, long PeakRss, long KvCacheBytes, double DenoiseOnlyFps)
{
    public double DenoiseChunkMs => StepMs.Sum() + ContextMs;
}

/// <summary>
/// Each stage's work alone on this thread, one after another (no pipeline, no actors): the model compute the
/// stream figures are compared with. Medians over the timed chunks; the first chunk of each stage is a warm-up.
/// </summary>
public static class StageProfile
{
    public static StageFigures Run(BenchReportOptions o, TextWriter log)
    {
        var config = BenchPresets.ResolveDit(o.ConfigName);
        var device = SelfForcing.Model.TorchRuntime.ParseDevice(o.Device);
        double text = TextEncodeMs(config, o.Chunks, device);
        var dit = DenoiseBenchmark.Run(new DenoiseBenchOptions(o.ConfigName, o.LatentHeight, o.LatentWidth, o.Chunks, o.DenoisingSteps, o.Device, o.DType, 0),
            TextWriter.Null);
        double decode = DecodeMs(o, device);
        // A chunk of F latent frames decodes to 4·F frames (the stream's first chunk to 4·F − 3).
        int pixelFrames = 4 * config.NumFramePerBlock;
        double encode = o.Format == StreamFormat.Rgb24 ? double.NaN
            : EncodeBenchmark.Run(StreamFormats.Name(o.Format), o.LatentWidth * 8, o.LatentHeight * 8, pixelFrames, o.Chunks, 16, TextWriter.Null);
        var (rss, peak) = BenchStats.Memory();
        var steps = dit.MedianStepMs;
        double chunkMs = steps.Sum() + dit.MedianContextMs;
        return new StageFigures(text, steps, dit.MedianContextMs, decode, encode, rss, peak, dit.KvCacheBytes, pixelFrames / (chunkMs / 1000));
    }

    /// <summary>The tiny random UMT5 stand-in at the config's text length and width (the real UMT5-XXL is not built here).</summary>
    private static double TextEncodeMs(WanConfig config, int prompts, Device device)
    {
        using var text = new TinyTextEncodeEngine(config.TextLen, config.TextDim, device);
        var times = new List<double>();
        for (int i = 0; i <= prompts; i++)
        {
            using var scope = NewDisposeScope();
            var sw = Stopwatch.StartNew();
            _ = text.Encode($"prompt {i}: a red fox runs through fresh snow at dawn").cpu(); // to the host: waits for a GPU
            if (i > 0) times.Add(sw.Elapsed.TotalMilliseconds);
        }
        return BenchStats.Median(times);
    }

    /// <summary>Through the decode stage's engine (snapshot in, pixels on the host and the next snapshot out), as the stage calls it.</summary>
    private static double DecodeMs(BenchReportOptions o, Device device)
    {
        using var engine = RandomDecoders.Engine(o.Decoder, o.DecoderSize, device);
        using var noGrad = no_grad();
        var g = new Generator(2);
        var state = engine.Initial(o.Decoder);
        var times = new List<double>();
        for (int c = 0; c <= o.Chunks; c++)
        {
            using var scope = NewDisposeScope();
            var latents = randn([1, BenchPresets.ResolveDit(o.ConfigName).NumFramePerBlock, 16, o.LatentHeight, o.LatentWidth], generator: g);
            var sw = Stopwatch.StartNew();
            var (pixels, next) = engine.Decode(o.Decoder, state, latents);
            if (c > 0) times.Add(sw.Elapsed.TotalMilliseconds);
            pixels.Dispose();
            state.Dispose();
            state = next;
        }
        state.Dispose();
        return BenchStats.Median(times);
    }
}
