using System.Globalization;
using SelfForcing.Actors.Video;
using TorchSharp;
using static TorchSharp.torch;

namespace SelfForcing.Hosting.Bench;

/// <param name="Chunks">Timed chunks per stage, and chunks per stream (at least 3: a first chunk and two steady ones).</param>
/// <param name="LongChunks">Chunks of the long rolling-cache stream (tiny model); 0 skips it.</param>
/// <param name="Device">Where every model runs (cpu, cuda, cuda:N): the DiT and text encoder in <see cref="DType"/>, decoders in float32.</param>
/// <param name="Format">What the encode stage makes of the frames: fmp4 (H.264 via ffmpeg), jpeg, or rgb24 (no encoding; for hosts without ffmpeg).</param>
public sealed record BenchReportOptions(string ConfigName, int LatentHeight, int LatentWidth, int Chunks, int DenoisingSteps, ScalarType DType,
    int Threads, string Decoder, string DecoderSize, int LongChunks, string Device = "cpu", StreamFormat Format = StreamFormat.Fmp4,
    string? NatsUrl = null);

public sealed record BenchReportResult(StageFigures Stages, StreamFigures Stream, LongStreamFigures? Long);

/// <summary>
/// <c>selfforcing bench</c> with no stage: every figure of issue 15 in one run — each stage alone, then
/// streams through the actor pipeline, then one long stream on the rolling cache. Human lines, then one
/// <c>RESULT section=…</c> line per part for scripts (benchmarks/run.sh) and tests.
/// </summary>
public static class BenchReport
{
    public static async Task<BenchReportResult> RunAsync(BenchReportOptions o, TextWriter log)
    {
        if (o.Chunks < 3) throw new ArgumentException("--chunks must be at least 3 for the full report (a first chunk and two steady ones)");
        if (o.Threads > 0) set_num_threads(o.Threads);
        var config = BenchPresets.ResolveDit(o.ConfigName);
        int latentFrames = config.NumFramePerBlock;
        log.WriteLine($"bench: config {o.ConfigName}, latent {o.LatentHeight}x{o.LatentWidth} ({o.LatentHeight * 8}x{o.LatentWidth * 8} px), {o.DType}, {o.Device}, " +
                      $"threads {get_num_threads()}, {o.DenoisingSteps} steps, decoder {o.Decoder} ({o.DecoderSize}), {o.Chunks} chunks; random weights");

        var s = StageProfile.Run(o, log);
        log.WriteLine("stages, each alone on one thread (median ms per chunk of " + latentFrames + " latent frames):");
        log.WriteLine($"  text encode, once per prompt (random UMT5 stand-in, 2 layers): {s.TextEncodeMs:F1} ms");
        for (int i = 0; i < s.StepMs.Count; i++) log.WriteLine($"  denoise step {i + 1}: {s.StepMs[i]:F1} ms");
        log.WriteLine($"  context pass: {s.ContextMs:F1} ms   (DiT chunk {s.DenoiseChunkMs:F1} ms)");
        log.WriteLine($"  decode ({o.Decoder} {o.DecoderSize}): {s.DecodeMs:F1} ms");
        log.WriteLine(o.Format == StreamFormat.Rgb24
            ? "  encode: none (rgb24)"
            : $"  encode ({StreamFormats.Name(o.Format)}, {4 * latentFrames} frames of {o.LatentWidth * 8}x{o.LatentHeight * 8}): {s.EncodeMs:F1} ms");
        var (publishMs, publishNote) = await PublishMsAsync(o, 4 * latentFrames);
        log.WriteLine(double.IsNaN(publishMs)
            ? $"  publish: not measured ({publishNote})"
            : $"  publish (fMP4 of {4 * latentFrames} frames + chunk event, stored and acknowledged by JetStream on {publishNote}): {publishMs:F1} ms");
        log.WriteLine($"  memory: RSS {BenchStats.Mb(s.Rss)}, peak {BenchStats.Mb(s.PeakRss)}, KV cache {BenchStats.Mb(s.KvCacheBytes)}");
        log.WriteLine($"  FPS, denoise only (DiT steps + context pass; no decode, no encode): {s.DenoiseOnlyFps:F2}");
        log.WriteLine(Result("stages", ("config", o.ConfigName), ("latent", $"{o.LatentHeight}x{o.LatentWidth}"), ("dtype", o.DType.ToString()), ("device", o.Device),
            ("threads", get_num_threads().ToString(CultureInfo.InvariantCulture)), ("text_encode_ms", F(s.TextEncodeMs)),
            ("denoise_step_ms", string.Join(";", s.StepMs.Select(F))), ("context_ms", F(s.ContextMs)), ("dit_chunk_ms", F(s.DenoiseChunkMs)),
            ("decoder", $"{o.Decoder}/{o.DecoderSize}"), ("format", StreamFormats.Name(o.Format)), ("decode_ms", F(s.DecodeMs)), ("encode_ms", F(s.EncodeMs)), ("publish_ms", F(publishMs)), ("rss_bytes", s.Rss.ToString()),
            ("peak_rss_bytes", s.PeakRss.ToString()), ("kv_cache_bytes", s.KvCacheBytes.ToString()), ("denoise_only_fps", F(s.DenoiseOnlyFps))));

        var st = await StreamProfile.RunAsync(o, log);
        log.WriteLine($"stream through the actor pipeline ({st.Chunks} chunks; all stages share this machine's cores):");
        log.WriteLine($"  first-chunk latency: {st.FirstChunkSeconds * 1000:F1} ms (outside its denoise/decode/encode: text encode + queue waits + messages {st.FirstChunkOffStageSeconds * 1000:F1} ms)");
        log.WriteLine($"  stage time per chunk in the pipeline (mean over the steady chunks): " + string.Join(", ", st.StageSeconds.Select(kv => $"{kv.Key} {kv.Value * 1000:F1} ms")) +
                      $"; slowest: {st.SlowestStage}");
        log.WriteLine($"  queue waits per chunk (mean over the steady chunks; while a chunk waits, the stages work on others): " +
                      string.Join(", ", st.WaitSeconds.Select(kv => $"{kv.Key} {kv.Value * 1000:F1} ms")));
        log.WriteLine($"  FPS, end to end (text → DiT → {o.Decoder} → {StreamFormats.Name(o.Format)}, as the client receives frames): {st.EndToEndFps:F2}");
        log.WriteLine($"  pipelining efficiency (throughput ÷ 1/slowest stage): {st.PipeliningEfficiency:P1}");
        log.WriteLine($"  engine overhead (denoise-bound stream, {st.DenoiseStreamIntervalSeconds * 1000:F1} ms/chunk; the part outside the denoise stage's work): " +
                      $"{st.EngineOverheadShare:P1} of chunk time");
        log.WriteLine($"  memory: RSS {BenchStats.Mb(st.Rss)}, peak {BenchStats.Mb(st.PeakRss)}");
        log.WriteLine(Result("stream", ("chunks", st.Chunks.ToString(CultureInfo.InvariantCulture)), ("first_chunk_ms", F(st.FirstChunkSeconds * 1000)),
            ("first_chunk_off_stage_ms", F(st.FirstChunkOffStageSeconds * 1000)), ("denoise_ms", F(st.StageSeconds["denoise"] * 1000)),
            ("decode_ms", F(st.StageSeconds["decode"] * 1000)), ("encode_ms", F(st.StageSeconds["encode"] * 1000)), ("slowest_stage", st.SlowestStage),
            ("held_before_denoise_ms", F(st.WaitSeconds["held before denoise"] * 1000)), ("held_before_decode_ms", F(st.WaitSeconds["held before decode"] * 1000)),
            ("in_transit_ms", F(st.WaitSeconds["in transit"] * 1000)),
            ("chunk_interval_ms", F(st.ChunkIntervalSeconds * 1000)), ("end_to_end_fps", F(st.EndToEndFps)),
            ("denoise_only_fps", F(s.DenoiseOnlyFps)), ("pipelining_efficiency", F(st.PipeliningEfficiency)),
            ("denoise_stream_interval_ms", F(st.DenoiseStreamIntervalSeconds * 1000)), ("engine_overhead", F(st.EngineOverheadShare)),
            ("rss_bytes", st.Rss.ToString()), ("peak_rss_bytes", st.PeakRss.ToString())));

        LongStreamFigures? l = null;
        if (o.LongChunks > 0)
        {
            l = await LongStreamMemory.RunAsync(o.LongChunks, o.Device, log);
            log.WriteLine($"long stream, tiny model, rolling cache, 8x8 latents ({l.SecondsPerChunk * 1000:F1} ms/chunk):");
            log.WriteLine($"  after {l.Early.Chunks} chunks: RSS {BenchStats.Mb(l.Early.Rss)}, managed {BenchStats.Mb(l.Early.ManagedBytes)}, KV cache {BenchStats.Mb(l.Early.KvCacheBytes)}");
            log.WriteLine($"  after {l.Late.Chunks} chunks: RSS {BenchStats.Mb(l.Late.Rss)}, managed {BenchStats.Mb(l.Late.ManagedBytes)}, KV cache {BenchStats.Mb(l.Late.KvCacheBytes)}");
            log.WriteLine($"  RSS change: {l.RssChange:+0.0%;-0.0%}");
            log.WriteLine(Result("long", ("early_chunks", l.Early.Chunks.ToString(CultureInfo.InvariantCulture)), ("early_rss_bytes", l.Early.Rss.ToString()),
                ("late_chunks", l.Late.Chunks.ToString(CultureInfo.InvariantCulture)), ("late_rss_bytes", l.Late.Rss.ToString()),
                ("rss_change", F(l.RssChange)), ("early_kv_cache_bytes", l.Early.KvCacheBytes.ToString()),
                ("late_kv_cache_bytes", l.Late.KvCacheBytes.ToString()), ("ms_per_chunk", F(l.SecondsPerChunk * 1000))));
        }
        return new BenchReportResult(s, st, l);
    }

    private static string F(double x) => x.ToString("0.####", CultureInfo.InvariantCulture);

    private static string Result(string section, params (string Key, string Value)[] figures) =>
        $"RESULT section={section} " + string.Join(" ", figures.Select(f => $"{f.Key}={f.Value}"));

    /// <summary>The publish step on <see cref="BenchReportOptions.NatsUrl"/>, or on a nats-server started for it; NaN and why when neither is there.</summary>
    private static async Task<(double Ms, string Note)> PublishMsAsync(BenchReportOptions o, int frames)
    {
        try
        {
            double ms = await PublishBenchmark.RunAsync(o.NatsUrl, o.LatentWidth * 8, o.LatentHeight * 8, frames, o.Chunks, 16, TextWriter.Null);
            return (ms, o.NatsUrl is null ? "a local nats-server" : o.NatsUrl);
        }
        catch (InvalidOperationException e)
        {
            return (double.NaN, e.Message);
        }
    }
}
