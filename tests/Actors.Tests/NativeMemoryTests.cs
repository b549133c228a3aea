using System.Diagnostics;
using System.Runtime.InteropServices;
using Akka.TestKit.Xunit2;
using SelfForcing.Actors.Engines;
using SelfForcing.Actors.Messages;

namespace SelfForcing.Actors.Tests;

/// <summary>
/// 1,000 chunks through the whole pipeline — the Wan VAE and TAEHV decoders with their snapshots, and rolling caches
/// long past their first wrap — must not grow the process: every tensor is disposed on its way.
/// </summary>
[Trait("Category", "Slow")]
[Collection(SerialCollection.Name)]
public class NativeMemoryTests() : TestKit(PipelineHocon.Default)
{
    private const int LatentSide = 8;

    [DllImport("libc")]
    private static extern int malloc_trim(nuint pad);

    [Fact]
    public async Task A_thousand_chunks_leave_process_memory_flat()
    {
        ObservedDenoiseEngine? denoise = null;
        SelfForcing.Model.Dit.WanConfig? config = null;
        var (pipeline, _) = PipelineFixture.Start(Sys, wrap: e =>
        {
            config = ((SelfForcingDenoiseEngine)e.Denoise).Model.Config;
            return PipelineFixture.WithRealDecoders(e with { Denoise = denoise = new ObservedDenoiseEngine(e.Denoise) });
        });

        // Streams by decoder. The Wan VAE is ~0.3 s a chunk on this CPU, so it gets the fewest chunks; the previews
        // carry the count and wrap their 12-frame rolling window dozens of times.
        async Task<int> RunChunks(params (string Decoder, int Chunks)[] streams)
        {
            var handles = new List<StreamHandle>();
            for (int i = 0; i < streams.Length; i++)
                handles.Add(await pipeline.StartAsync(new StreamRequest($"memory {i}", Seed: i, Chunks: streams[i].Chunks, Decoder: streams[i].Decoder)));
            // Count chunks without keeping them: only the pipeline's own memory is measured.
            var counts = await Task.WhenAll(handles.Select(async h =>
            {
                int n = 0;
                await foreach (var _ in h.ReadAllAsync(new CancellationTokenSource(TimeSpan.FromMinutes(10)).Token)) n++;
                return n;
            }));
            for (int i = 0; i < streams.Length; i++) Assert.Equal(streams[i].Chunks, counts[i]);
            return counts.Sum();
        }

        await RunChunks(("preview", 30), ("preview", 30), ("taehv", 20), ("vae", 6)); // warm-up: allocator pools, JIT, thread stacks
        long baseline = Rss();
        var clock = Stopwatch.StartNew();
        int chunks = await RunChunks(("preview", 340), ("preview", 340), ("taehv", 270), ("vae", 50));
        long after = Rss();
        long growth = after - baseline;

        // One leaked chunk of latents per chunk would grow the process by chunks × this; allow half of it.
        long latentBytes = (long)denoise!.FramesPerChunk * config!.InDim * LatentSide * LatentSide * sizeof(float);
        long bound = chunks * latentBytes / 2;
        Console.WriteLine($"{chunks} chunks in {clock.Elapsed.TotalSeconds:F0}s: anonymous RSS after warm-up {baseline / 1048576.0:F1} MiB, after " +
                          $"{after / 1048576.0:F1} MiB, growth {growth / 1048576.0:F2} MiB; bound {bound / 1048576.0:F2} MiB " +
                          $"(half of {chunks} × {latentBytes} latent bytes)");
        Assert.True(growth < bound, $"process memory grew by {growth / 1048576.0:F2} MiB over {chunks} chunks (bound {bound / 1048576.0:F2} MiB)");

        Assert.Empty((await pipeline.CacheStateAsync()).CommittedChunks);
        var caches = denoise.Caches.Values.ToList();
        Assert.Equal(8, caches.Count);
        Assert.All(caches, c => Assert.True(c.IsDisposed, "a finished stream's KV cache was not disposed"));
        long capacity = caches[0].CapacityTokens;
        Assert.True(caches[0].Rolling && denoise.TokensWritten.Values.Count(t => t > 10 * capacity) >= 3,
            $"the long streams never wrapped their {capacity}-token rolling windows many times: {string.Join(", ", denoise.TokensWritten.Values)}");
    }

    /// <summary>
    /// Anonymous resident memory (heap and anonymous mappings: where tensors live) once the GC has run finalizers and
    /// glibc has returned its free pages. Whole-process RSS also counts the file-backed pages of libtorch, which the
    /// kernel evicts and reloads at will (readings here moved by ~30 MiB between runs), and without the trim memory
    /// libtorch already freed but malloc keeps in its arenas swings by tens of MiB around Wan VAE chunks; either would
    /// hide a leak of a few MiB. The trim releases only free memory, so a real leak still shows.
    /// </summary>
    private static long Rss()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        if (!OperatingSystem.IsLinux())
        {
            using var p = Process.GetCurrentProcess();
            p.Refresh();
            return p.WorkingSet64;
        }
        try { malloc_trim(0); }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException) { } // not glibc: measure untrimmed
        var line = File.ReadLines("/proc/self/status").First(l => l.StartsWith("RssAnon:", StringComparison.Ordinal));
        return long.Parse(line["RssAnon:".Length..].Trim().Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture) * 1024;
    }
}
