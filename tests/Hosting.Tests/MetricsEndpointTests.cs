using System.Globalization;
using System.Net;
using SelfForcing.Hosting.Commands;
using SelfForcing.Hosting.Output;

namespace SelfForcing.Hosting.Tests;

/// <summary>Runs alone: the Prometheus registry is process-wide, so counter deltas belong to this test's stream only.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class MetricsCollection
{
    public const string Name = "Metrics (process-wide registry)";
}

/// <summary><c>generate --metrics-port</c> serves the pipeline's metrics over HTTP while it works, with the work counted.</summary>
[Collection(MetricsCollection.Name)]
public class MetricsEndpointTests
{
    private const int Chunks = 3;
    private const int Frames = 1 + 4 * (3 * Chunks - 1); // the causal VAE's frame count for 9 latent frames

    [Fact]
    public async Task Metrics_scraped_over_http_count_the_work_done()
    {
        int port = FreePort();
        var before = Parse(await ExportInProcess());
        var dir = Directory.CreateTempSubdirectory("sf-metrics-");
        try
        {
            // The scrape happens while generate still runs (its server stops when it returns): when it reports the file written.
            var stdout = new ScrapeOnWrite(port, text => Delta(Parse(text), before, "selfforcing_streams_total{outcome=\"completed\"}") >= 1);
            var options = new GenerateCommand.GenerateOptions(["metrics over http"], 5, dir.FullName, Chunks, 16,
                new WeightOptions(null, null, false, "float32", null, null) { Model = WeightOptions.TinyRandom }, null, null, 8, 8, MetricsPort: port);
            var stderr = new StringWriter();
            int rc = await GenerateCommand.RunAsync(options, stdout, stderr);
            Assert.True(rc == 0, stderr.ToString());
            Assert.True(stdout.Scraped is not null, "nothing was scraped from the metrics port: " + stdout.Error);
            var after = Parse(stdout.Scraped!);

            Assert.Equal(1, Delta(after, before, "selfforcing_stage_chunk_seconds_count{stage=\"text-encode\"}"));
            foreach (var stage in new[] { "denoise-chunk", "vae-decode", "encode-to-stream" })
                Assert.Equal(Chunks, Delta(after, before, $"selfforcing_stage_chunk_seconds_count{{stage=\"{stage}\"}}"));
            Assert.True(Delta(after, before, "selfforcing_stage_chunk_seconds_sum{stage=\"denoise-chunk\"}") > 0, "denoising took no time");
            Assert.Equal(Frames, Delta(after, before, "selfforcing_stream_frames_total"));
            Assert.Equal(1, Delta(after, before, "selfforcing_stream_first_frame_seconds_count"));
            Assert.Equal(1, Delta(after, before, "selfforcing_streams_total{outcome=\"completed\"}"));
            Assert.True(after.GetValueOrDefault("selfforcing_stream_fps") > 0, "stream fps gauge is zero");
        }
        finally { dir.Delete(true); }
    }

    private static double Delta(Dictionary<string, double> after, Dictionary<string, double> before, string series) =>
        after.GetValueOrDefault(series) - before.GetValueOrDefault(series);

    /// <summary>Prometheus text format: "name{labels} value" per sample; comments skipped.</summary>
    private static Dictionary<string, double> Parse(string text)
    {
        var values = new Dictionary<string, double>();
        foreach (var line in text.Split('\n'))
        {
            if (line.Length == 0 || line[0] == '#') continue;
            int space = line.LastIndexOf(' ');
            if (space > 0 && double.TryParse(line[(space + 1)..], NumberStyles.Float, CultureInfo.InvariantCulture, out var v))
                values[line[..space]] = v;
        }
        return values;
    }

    private static async Task<string> ExportInProcess()
    {
        using var ms = new MemoryStream();
        await Prometheus.Metrics.DefaultRegistry.CollectAndExportAsTextAsync(ms);
        return System.Text.Encoding.UTF8.GetString(ms.ToArray());
    }

    private static int FreePort() => SelfForcing.Hosting.Bench.LocalNatsServer.FreePort();

    /// <summary>Captures generate's report and, at its "wrote" line, scrapes /metrics until <paramref name="ready"/> holds.</summary>
    private sealed class ScrapeOnWrite(int port, Func<string, bool> ready) : StringWriter
    {
        public string? Scraped { get; private set; }
        public string? Error { get; private set; }

        public override void WriteLine(string? value)
        {
            base.WriteLine(value);
            if (value is null || !value.TrimStart().StartsWith("wrote ", StringComparison.Ordinal)) return;
            using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
            do
            {
                try
                {
                    Scraped = http.GetStringAsync($"http://localhost:{port}/metrics").GetAwaiter().GetResult();
                    if (ready(Scraped)) return;
                }
                catch (HttpRequestException e) { Error = e.Message; }
                Thread.Sleep(50);
            } while (DateTime.UtcNow < deadline);
        }
    }
}
