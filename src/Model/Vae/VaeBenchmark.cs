using System.Diagnostics;
using static TorchSharp.torch;

namespace SelfForcing.Model.Vae;

/// <summary>
/// Times the streaming decoder chunk by chunk for a config and latent size (random weights unless the caller
/// passes a loaded VAE). Memory: the cache size after each chunk, and the process's peak working set (CPU) —
/// on CUDA the working set does not include device memory, so read the device's own counters there.
/// </summary>
public static class VaeBenchmark
{
    public sealed record Options
    {
        public int LatentHeight { get; init; } = 60;
        public int LatentWidth { get; init; } = 104;
        public int Chunks { get; init; } = 7;
        public int LatentFramesPerChunk { get; init; } = 3;
        public int Batch { get; init; } = 1;
        public VaeFirstFramePolicy Policy { get; init; } = VaeFirstFramePolicy.Reference;
        public long Seed { get; init; } = 1;
    }

    public sealed record ChunkTiming(int Index, int LatentFrames, long PixelFrames, TimeSpan Elapsed, long CacheBytes);

    public sealed record Result(
        WanVaeConfig Config, Options Options, string Device, ScalarType DType,
        IReadOnlyList<ChunkTiming> Chunks, long PeakWorkingSetBytes)
    {
        /// <summary>Mean over the chunks after the first (the first one also pays allocation and warm-up).</summary>
        public TimeSpan SteadyChunkTime => Chunks.Count > 1
            ? TimeSpan.FromTicks((long)Chunks.Skip(1).Average(c => c.Elapsed.Ticks))
            : Chunks.Count == 1 ? Chunks[0].Elapsed : TimeSpan.Zero;

        public double PixelFramesPerSecond =>
            Chunks.Sum(c => c.PixelFrames) / Math.Max(1e-9, Chunks.Sum(c => c.Elapsed.TotalSeconds));
    }

    /// <summary>Builds a random-weight VAE (decoder only) for <paramref name="config"/> and measures it.</summary>
    public static Result Run(WanVaeConfig config, Options options, Device? device = null, ScalarType dtype = ScalarType.Float32)
    {
        using var vae = new WanVae(config, device, dtype, includeEncoder: false);
        vae.InitializeRandom(options.Seed);
        return Run(vae, options);
    }

    public static Result Run(WanVae vae, Options options)
    {
        if (options.Chunks < 1 || options.LatentFramesPerChunk < 1 || options.Batch < 1 || options.LatentHeight < 1 || options.LatentWidth < 1)
            throw new ArgumentException($"VaeBenchmark: every option must be positive: {options}.", nameof(options));
        var generator = new Generator((ulong)options.Seed);
        using var decoder = vae.CreateStreamDecoder(options.Policy);
        var timings = new List<ChunkTiming>();
        using var process = Process.GetCurrentProcess();
        for (int i = 0; i < options.Chunks; i++)
        {
            using var scope = NewDisposeScope();
            var latents = randn(new long[] { options.Batch, vae.Config.ZDim, options.LatentFramesPerChunk, options.LatentHeight, options.LatentWidth },
                generator: generator).to(vae.DType, vae.Device);
            var watch = Stopwatch.StartNew();
            var pixels = decoder.DecodeChunk(latents);
            _ = pixels.sum().to(ScalarType.Float32).item<float>(); // forces completion on asynchronous devices (any dtype)
            watch.Stop();
            timings.Add(new ChunkTiming(i, options.LatentFramesPerChunk, pixels.shape[2], watch.Elapsed, decoder.CacheBytes));
        }
        process.Refresh();
        return new Result(vae.Config, options, vae.Device.ToString(), vae.DType, timings, process.PeakWorkingSet64);
    }
}
