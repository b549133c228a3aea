using Akka.TestKit.Xunit2;
using Prometheus;
using SelfForcing.Actors.Messages;

namespace SelfForcing.Actors.Tests;

public class MetricsTests() : TestKit(PipelineHocon.Default)
{
    [Fact]
    public async Task Stage_and_stream_metrics_are_exported()
    {
        var (pipeline, _) = PipelineFixture.Start(Sys);
        await PipelineFixture.Run(pipeline, new StreamRequest("metrics", Seed: 1, Chunks: 2));
        using var ms = new MemoryStream();
        await Prometheus.Metrics.DefaultRegistry.CollectAndExportAsTextAsync(ms);
        var text = System.Text.Encoding.UTF8.GetString(ms.ToArray());
        foreach (var stage in new[] { "text-encode", "denoise-chunk", "vae-decode", "encode-to-stream" })
            Assert.Contains($"selfforcing_stage_chunk_seconds_count{{stage=\"{stage}\"}}", text);
        Assert.Contains("selfforcing_stream_frames_total", text);
        Assert.Contains("selfforcing_stream_first_frame_seconds_count", text);
        Assert.Contains("selfforcing_streams_total{outcome=\"completed\"}", text);
    }
}
