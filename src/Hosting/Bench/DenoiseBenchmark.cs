using System.Diagnostics;
using SelfForcing.Model.Dit;
using TorchSharp;
using static TorchSharp.torch;

namespace SelfForcing.Hosting.Bench;

public sealed record DenoiseBenchOptions(
    string ConfigName, int LatentHeight, int LatentWidth, int Chunks, int DenoisingSteps, string Device, ScalarType DType, int Threads);

/// <param name="CpuMs">Process CPU time for the chunk (denoise + context): unlike wall time, barely moved by other load on a shared host.</param>
/// <param name="StepMs">Each denoising step's wall time; they sum to <paramref name="DenoiseMs"/>.</param>
public sealed record ChunkTiming(int Chunk, double DenoiseMs, double ContextMs, double CpuMs, IReadOnlyList<double> StepMs);

public sealed record DenoiseBenchResult(
    DenoiseBenchOptions Options, long Parameters, long TokensPerChunk, IReadOnlyList<ChunkTiming> Chunks, long KvCacheBytes, long PeakWorkingSetBytes)
{
    public double MedianDenoiseMs => Median(Chunks.Select(c => c.DenoiseMs));
    public double MedianContextMs => Median(Chunks.Select(c => c.ContextMs));
    public double MedianCpuMs => Median(Chunks.Select(c => c.CpuMs));
    public double TokensPerSecond => TokensPerChunk / ((MedianDenoiseMs + MedianContextMs) / 1000.0);
    /// <summary>Median time of denoising step i (0-based) over the timed chunks.</summary>
    public IReadOnlyList<double> MedianStepMs =>
        Enumerable.Range(0, Options.DenoisingSteps).Select(i => Median(Chunks.Select(c => c.StepMs[i]))).ToArray();

    private static double Median(IEnumerable<double> xs) => BenchStats.Median(xs);
}

/// <summary>
/// Times the per-chunk work of the Self-Forcing sampler on a random-weight causal DiT: the few denoising calls
/// of a chunk and the context pass that writes its clean K/V. The first chunk is a warm-up and not reported.
/// </summary>
public static class DenoiseBenchmark
{
    public static DenoiseBenchResult Run(DenoiseBenchOptions o, TextWriter log)
    {
        if (o.Threads > 0) set_num_threads(o.Threads);
        var device = SelfForcing.Model.TorchRuntime.ParseDevice(o.Device);
        var config = BenchPresets.ResolveDit(o.ConfigName);
        int frames = config.NumFramePerBlock;
        using var model = new CausalWanModel(config, device, o.DType, WeightInit.Uninitialised); // filled just below
        model.InitializeRandom(seed: 0);
        model.eval();
        long parameters = model.parameters().Sum(p => p.numel());
        log.WriteLine($"model {o.ConfigName}: {parameters:N0} parameters, {o.DType} on {o.Device}, latent {o.LatentHeight}x{o.LatentWidth}, " +
                      $"{o.Chunks} chunk(s) of {frames} frames, {o.DenoisingSteps} denoising steps + 1 context pass, threads {get_num_threads()}");

        using var cache = model.CreateCache(1, (o.Chunks + 1) * frames, o.LatentHeight, o.LatentWidth, device, o.DType);
        using var context = randn([1, config.TextLen, config.TextDim], o.DType, device);
        var timings = new List<ChunkTiming>();
        long tokensPerChunk = frames * (o.LatentHeight / config.PatchSize[1]) * (o.LatentWidth / config.PatchSize[2]);
        long peak = 0;
        using var noGrad = no_grad();
        for (int chunk = 0; chunk <= o.Chunks; chunk++)
        {
            using var scope = NewDisposeScope();
            long start = chunk * tokensPerChunk;
            var x = randn([1, config.InDim, frames, o.LatentHeight, o.LatentWidth], o.DType, device);
            var cpu = CpuTime();
            var steps = new double[o.DenoisingSteps];
            var sw = Stopwatch.StartNew();
            for (int step = 0; step < o.DenoisingSteps; step++)
            {
                var t = full([1, frames], 1000.0 - 250.0 * step, ScalarType.Float32, device);
                x = model.Forward(x, t, context, cache, start);
                Synchronize(device, x); // per step, so each step's time is its own (one element read: negligible)
                steps[step] = sw.Elapsed.TotalMilliseconds - steps.Sum();
            }
            double denoise = sw.Elapsed.TotalMilliseconds;
            sw.Restart();
            var ctxOut = model.Forward(x, zeros([1, frames], ScalarType.Float32, device), context, cache, start);
            Synchronize(device, ctxOut);
            double contextMs = sw.Elapsed.TotalMilliseconds;
            double cpuMs = (CpuTime() - cpu).TotalMilliseconds;
            peak = Math.Max(peak, Process.GetCurrentProcess().PeakWorkingSet64);
            if (chunk == 0) { log.WriteLine($"  warm-up chunk: denoise {denoise:F1} ms, context {contextMs:F1} ms, cpu {cpuMs:F0} ms"); continue; }
            timings.Add(new ChunkTiming(chunk, denoise, contextMs, cpuMs, steps));
            log.WriteLine($"  chunk {chunk}: denoise {denoise:F1} ms ({denoise / o.DenoisingSteps:F1} ms/step), context pass {contextMs:F1} ms, cpu {cpuMs:F0} ms");
        }
        return new DenoiseBenchResult(o, parameters, tokensPerChunk, timings, cache.AllocatedBytes, peak);
    }

    private static TimeSpan CpuTime()
    {
        using var me = Process.GetCurrentProcess();
        return me.TotalProcessorTime;
    }

    // CUDA work is asynchronous; waiting for the device makes the stopwatch measure the compute.
    private static void Synchronize(Device device, Tensor t)
    {
        if (device.type == DeviceType.CUDA) torch.cuda.synchronize(device);
    }
}
