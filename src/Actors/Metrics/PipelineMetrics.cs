using Prometheus;
using SelfForcing.Actors.Messages;

namespace SelfForcing.Actors.Metrics;

/// <summary>Prometheus metrics of the pipeline (served by the host's /metrics endpoint when it has one).</summary>
public static class PipelineMetrics
{
    public static readonly Histogram ChunkSeconds = Prometheus.Metrics.CreateHistogram("selfforcing_stage_chunk_seconds",
        "Time a stage spends on one chunk", new HistogramConfiguration { LabelNames = ["stage"], Buckets = Histogram.ExponentialBuckets(0.001, 2, 20) });

    public static readonly Gauge QueueDepth = Prometheus.Metrics.CreateGauge("selfforcing_stage_queue_depth",
        "Jobs waiting for a stage", new GaugeConfiguration { LabelNames = ["stage"] });

    public static readonly Counter Restarts = Prometheus.Metrics.CreateCounter("selfforcing_stage_restarts_total",
        "Stage worker restarts after a failure", new CounterConfiguration { LabelNames = ["stage"] });

    public static readonly Counter Frames = Prometheus.Metrics.CreateCounter("selfforcing_stream_frames_total", "Frames delivered to stream consumers");

    public static readonly Histogram FirstFrameSeconds = Prometheus.Metrics.CreateHistogram("selfforcing_stream_first_frame_seconds",
        "Time from stream start to its first delivered frames", new HistogramConfiguration { Buckets = Histogram.ExponentialBuckets(0.01, 2, 16) });

    public static readonly Gauge StreamFps = Prometheus.Metrics.CreateGauge("selfforcing_stream_fps",
        "Delivered frames per second of the most recently finished stream");

    public static readonly Counter StreamsFinished = Prometheus.Metrics.CreateCounter("selfforcing_streams_total",
        "Streams by outcome", new CounterConfiguration { LabelNames = ["outcome"] });

    public static string Label(Stage stage) => stage switch
    {
        Stage.TextEncode => "text-encode",
        Stage.Denoise => "denoise-chunk",
        Stage.Decode => "vae-decode",
        _ => "encode-to-stream",
    };
}
