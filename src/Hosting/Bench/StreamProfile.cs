using System.Diagnostics;
using Akka.Actor;
using SelfForcing.Actors;
using SelfForcing.Actors.Engines;
using SelfForcing.Actors.Messages;
using SelfForcing.Actors.Video;
using SelfForcing.Model.Dit;
using static TorchSharp.torch;

namespace SelfForcing.Hosting.Bench;

/// <param name="FirstChunkSeconds">From the start request to the first chunk in the client's hands (text encode included).</param>
/// <param name="EndToEndFps">Frames per second as the client receives them after the first chunk (text → DiT → decoder → encoder).</param>
/// <param name="StageSeconds">Mean seconds per steady chunk each stage reported (denoise includes the context pass).</param>
/// <param name="PipeliningEfficiency">Measured throughput ÷ (1 / slowest stage): 1 when the slowest stage is never idle.</param>
/// <param name="FirstChunkOffStageSeconds">First-chunk latency less the first chunk's stage times: the text encode, queue waits and messages.</param>
/// <param name="DenoiseStreamIntervalSeconds">Seconds between chunks of a stream whose other stages cost almost nothing (preview, raw RGB).</param>
/// <param name="EngineOverheadShare">The part of that interval outside the denoise stage's own work (DiT, sampler, context pass), over the same chunks.</param>
/// <param name="WaitSeconds">Mean seconds per steady chunk between stages (<see cref="ChunkTimings"/>): held before denoise,
/// held before decode, in transit (messages, mailboxes).</param>
public sealed record StreamFigures(int Chunks, double FirstChunkSeconds, double EndToEndFps, double ChunkIntervalSeconds,
    IReadOnlyDictionary<string, double> StageSeconds, string SlowestStage, double PipeliningEfficiency, double FirstChunkOffStageSeconds,
    double DenoiseStreamIntervalSeconds, double EngineOverheadShare, long Rss, long PeakRss, IReadOnlyDictionary<string, double> WaitSeconds);

/// <summary>
/// Streams through the real actor pipeline (the public <see cref="SelfForcingPipeline"/> API only) and derives the
/// stream figures from when chunks reach the client and the per-chunk stage times they carry.
/// </summary>
public static class StreamProfile
{
    public static async Task<StreamFigures> RunAsync(BenchReportOptions o, TextWriter log)
    {
        var config = BenchPresets.ResolveDit(o.ConfigName);
        var settings = new PipelineSettings { TextEncoderDevice = o.Device, DenoiserDevice = o.Device, DecoderDevice = o.Device };
        var device = SelfForcing.Model.TorchRuntime.ParseDevice(o.Device);
        var model = new CausalWanModel(config, device, o.DType, WeightInit.Uninitialised);
        model.InitializeRandom(seed: 0);
        model.eval();
        IDecodeEngine decode = o.Decoder == "preview"
            ? new LatentPreviewDecodeEngine(device)
            : new CompositeDecodeEngine(RandomDecoders.Engine(o.Decoder, o.DecoderSize, device), new LatentPreviewDecodeEngine(device));
        using var engines = new PipelineEngines(new TinyTextEncodeEngine(config.TextLen, config.TextDim, device),
            new SelfForcingDenoiseEngine(model, device, o.DType, longStreams: settings.LongStreamAttention), decode);
        using var system = ActorSystem.Create("bench", PipelineHocon.Default);
        try
        {
            var pipeline = SelfForcingPipeline.Start(system, settings, engines);
            // Denoise-bound stream first (it also warms the stage threads). While the denoise stage is the bottleneck it
            // finishes chunk after chunk, so from chunk 0's arrival to chunk N−1's the time is the denoising of chunks 1..N−1,
            // plus the gaps between them (the engine's: messages, copies, hand-offs), plus chunk N−1's trip through decode and
            // encode, less chunk 0's. All from this one stream's own record, so other load on a shared host moves both sides alike.
            var dit = await Stream(pipeline, new StreamRequest("a red fox in the snow", 1, o.Chunks, 16, "preview", o.LatentHeight, o.LatentWidth, StreamFormat.Rgb24));
            double ditSpan = dit.Arrivals[^1] - dit.Arrivals[0];
            double ditInterval = ditSpan / (dit.Arrivals.Count - 1);
            double Trip(EncodedChunk c) => c.Timings.Decode + c.Timings.Encode;
            double gaps = ditSpan - dit.Chunks.Skip(1).Sum(c => c.Timings.Denoise) - Trip(dit.Chunks[^1]) + Trip(dit.Chunks[0]);
            double overhead = gaps / ditSpan;

            var e2e = await Stream(pipeline, new StreamRequest("a red fox in the snow", 2, o.Chunks, 16, o.Decoder, o.LatentHeight, o.LatentWidth, o.Format));
            var steady = e2e.Chunks.Skip(1).ToArray();
            double span = e2e.Arrivals[^1] - e2e.Arrivals[0];
            double fps = steady.Sum(c => c.Frames) / span;
            double interval = span / steady.Length;
            // Means over the same chunks the interval spans (not medians): then a serial stage's share of the span is at most 1.
            var stages = new Dictionary<string, double>
            {
                ["denoise"] = steady.Average(c => c.Timings.Denoise),
                ["decode"] = steady.Average(c => c.Timings.Decode),
                ["encode"] = steady.Average(c => c.Timings.Encode),
            };
            var waits = new Dictionary<string, double>
            {
                ["held before denoise"] = steady.Average(c => c.Timings.HeldBeforeDenoise),
                ["held before decode"] = steady.Average(c => c.Timings.HeldBeforeDecode),
                ["in transit"] = steady.Average(c => c.Timings.InTransit),
            };
            var slowest = stages.MaxBy(kv => kv.Value);
            var first = e2e.Chunks[0].Timings;
            double offStage = e2e.Arrivals[0] - (first.Denoise + first.Decode + first.Encode);
            var (rss, peak) = BenchStats.Memory();
            return new StreamFigures(o.Chunks, e2e.Arrivals[0], fps, interval, stages, slowest.Key, slowest.Value / interval, offStage,
                ditInterval, overhead, rss, peak, waits);
        }
        finally
        {
            await system.Terminate();
        }
    }

    private sealed record Received(IReadOnlyList<EncodedChunk> Chunks, IReadOnlyList<double> Arrivals);

    /// <summary>Runs one stream to its end; arrival times are seconds since the start request was sent.</summary>
    private static async Task<Received> Stream(SelfForcingPipeline pipeline, StreamRequest request)
    {
        var clock = Stopwatch.StartNew();
        var handle = await pipeline.StartAsync(request);
        var chunks = new List<EncodedChunk>();
        var arrivals = new List<double>();
        await foreach (var chunk in handle.ReadAllAsync())
        {
            arrivals.Add(clock.Elapsed.TotalSeconds);
            chunks.Add(chunk);
        }
        return new Received(chunks, arrivals);
    }
}
