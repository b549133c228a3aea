using System.Diagnostics;
using SelfForcing.Model.Taehv;
using SelfForcing.Model.Vae;
using static TorchSharp.torch;

namespace SelfForcing.Hosting.Bench;

/// <summary>
/// Streams chunks of latents through a random-weight decoder (Wan VAE or TAEHV) exactly as the decode stage does and
/// reports time per chunk (first chunk separately: it is also the warm-up) and the process's peak working set.
/// </summary>
public static class DecodeBenchmark
{
    public static void Run(string decoder, string size, int latentH, int latentW, int chunks, int threads, TextWriter log, int latentFrames = 3)
    {
        if (threads > 0) set_num_threads(threads);
        var g = new Generator(1);
        using var noGrad = no_grad();
        Func<Tensor, Tensor> decode;
        IDisposable owner;
        long parameters;
        switch (decoder)
        {
            case "vae":
            {
                var vae = RandomDecoders.Vae(size);
                var stream = vae.CreateStreamDecoder();
                decode = l => stream.DecodeChunk(l.permute(0, 2, 1, 3, 4)).permute(0, 2, 1, 3, 4); // report [B, T, 3, H, W] like TAEHV
                owner = vae;
                parameters = vae.parameters().Sum(p => p.numel());
                break;
            }
            case "taehv":
            {
                var taehv = RandomDecoders.Taehv(size);
                var stream = new TaehvStreamDecoder(taehv);
                decode = stream.DecodeChunk;
                owner = taehv;
                parameters = taehv.parameters().Sum(p => p.numel());
                break;
            }
            default: throw new ArgumentException($"unknown decoder '{decoder}' (vae, taehv)");
        }
        using (owner)
        {
            log.WriteLine($"decoder {decoder} ({size}, {parameters:N0} parameters), latent {latentH}x{latentW} → {latentH * 8}x{latentW * 8} px, {chunks} chunks of {latentFrames} latent frame(s), threads {get_num_threads()}, " +
                          (SelfForcing.Model.NativeHeap.FixedMmapThreshold is { } mmap ? $"heap mmap threshold {mmap >> 20} MB" : "glibc's default heap mmap threshold") +
                          ", " + SelfForcing.Model.NativeHeap.HugePagesDescription());
            var times = new List<double>();
            var cpuTimes = new List<double>();
            for (int c = 0; c < chunks; c++)
            {
                using var scope = NewDisposeScope();
                var latents = randn([1, latentFrames, 16, latentH, latentW], generator: g);
                var cpu = CpuTime();
                var sw = Stopwatch.StartNew();
                var pixels = decode(latents);
                sw.Stop();
                times.Add(sw.Elapsed.TotalMilliseconds);
                cpuTimes.Add((CpuTime() - cpu).TotalMilliseconds);
                log.WriteLine($"  chunk {c}: {sw.Elapsed.TotalMilliseconds:F1} ms, cpu {cpuTimes[^1]:F0} ms, {pixels.shape[1]} frames");
            }
            using var p = Process.GetCurrentProcess();
            var steady = times.Skip(1).DefaultIfEmpty(times[0]);
            var steadyCpu = cpuTimes.Skip(1).DefaultIfEmpty(cpuTimes[0]);
            log.WriteLine($"RESULT decoder={decoder} size={size} latent={latentH}x{latentW} first_chunk_ms={times[0]:F1} " +
                          $"steady_chunk_ms={BenchStats.Median(steady):F1} steady_cpu_ms={BenchStats.Median(steadyCpu):F0} peak_working_set_bytes={p.PeakWorkingSet64}");
        }
    }

    // Process CPU time: unlike wall time, barely moved by other load on a shared host (OpenMP spin-waiting aside).
    private static TimeSpan CpuTime()
    {
        using var me = Process.GetCurrentProcess();
        return me.TotalProcessorTime;
    }
}
