using Akka.Actor;
using SelfForcing.Actors;
using SelfForcing.Actors.Engines;
using SelfForcing.Actors.Messages;
using SelfForcing.Actors.Video;

namespace SelfForcing.Hosting.Bench;

public sealed record MemoryAt(int Chunks, long Rss, long ManagedBytes, long KvCacheBytes);

/// <param name="RssChange">(RSS at the last sample − RSS after the first) ÷ RSS after the first.</param>
public sealed record LongStreamFigures(MemoryAt Early, MemoryAt Late, double RssChange, double SecondsPerChunk);

/// <summary>
/// One unbounded stream of the tiny model through the pipeline with the rolling (sink + window) cache: process
/// memory after <see cref="EarlyChunks"/> chunks and after many more. A cache or a per-chunk allocation that leaks shows as growth.
/// </summary>
public static class LongStreamMemory
{
    public const int EarlyChunks = 10;

    public static async Task<LongStreamFigures> RunAsync(int chunks, string device, TextWriter log)
    {
        if (chunks <= EarlyChunks) throw new ArgumentException($"--long-chunks must be more than {EarlyChunks} (or 0 to skip)");
        var settings = new PipelineSettings { TextEncoderDevice = device, DenoiserDevice = device, DecoderDevice = device };
        using var engines = PipelineEngines.Tiny(settings); // rolling attention: 12-frame window, 3 sink frames
        using var system = ActorSystem.Create("bench-long", PipelineHocon.Default);
        try
        {
            var pipeline = SelfForcingPipeline.Start(system, settings, engines);
            var handle = await pipeline.StartAsync(new StreamRequest("a long walk", 3, Chunks: null, Fps: 16, Decoder: "preview", LatentHeight: 8, LatentWidth: 8,
                Format: StreamFormat.Rgb24));
            MemoryAt? early = null;
            int received = 0;
            var clock = System.Diagnostics.Stopwatch.StartNew();
            double earlyAt = 0;
            await foreach (var _ in handle.ReadAllAsync())
            {
                received++;
                if (received == EarlyChunks) { early = await Sample(pipeline, received); earlyAt = clock.Elapsed.TotalSeconds; }
                if (received == chunks) break;
            }
            var late = await Sample(pipeline, received);
            double perChunk = (clock.Elapsed.TotalSeconds - earlyAt) / (chunks - EarlyChunks);
            handle.Cancel();
            return new LongStreamFigures(early!, late, (late.Rss - early!.Rss) / (double)early.Rss, perChunk);
        }
        finally
        {
            await system.Terminate();
        }
    }

    private static async Task<MemoryAt> Sample(SelfForcingPipeline pipeline, int chunks)
    {
        // Collect first, so that RSS reflects what is kept, not managed garbage waiting for a collection.
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        var cache = await pipeline.CacheStateAsync();
        return new MemoryAt(chunks, BenchStats.Memory().Rss, GC.GetTotalMemory(false), cache.Bytes);
    }
}
