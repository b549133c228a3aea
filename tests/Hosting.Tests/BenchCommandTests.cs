using System.Globalization;

namespace SelfForcing.Hosting.Tests;

/// <summary>
/// <c>selfforcing bench</c> in its reduced mode (tiny model, 4 chunks, a short long stream): every figure of the
/// report is printed and sane. Bounds are what the definitions allow, not measured values: this host's speed varies.
/// </summary>
public class BenchCommandTests
{
    [Fact]
    public void Full_report_prints_every_figure_and_each_is_sane()
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        int rc = Cli.Run(["bench", "--chunks", "4", "--long-chunks", "12", "--decoder", "taehv", "--threads", "2"], stdout, stderr);
        Assert.True(rc == 0, stderr.ToString() + stdout);
        var text = stdout.ToString();
        foreach (var label in new[] { "text encode, once per prompt", "denoise step 4", "context pass", "decode (taehv", "encode (fmp4", "publish (fMP4",
                     "FPS, denoise only", "FPS, end to end", "first-chunk latency", "queue waits per chunk", "pipelining efficiency", "engine overhead", "after 10 chunks", "after 12 chunks" })
            Assert.Contains(label, text);

        var stages = Section(text, "stages");
        // publish_ms: on a nats-server the bench starts itself (installed by .ci/run, as for the serve tests).
        foreach (var key in new[] { "text_encode_ms", "context_ms", "dit_chunk_ms", "decode_ms", "encode_ms", "publish_ms", "denoise_only_fps" })
            Assert.InRange(Number(stages, key), 1e-6, 1e6);
        var steps = stages["denoise_step_ms"].Split(';').Select(s => double.Parse(s, CultureInfo.InvariantCulture)).ToArray();
        Assert.Equal(4, steps.Length);
        Assert.All(steps, s => Assert.InRange(s, 1e-6, 1e6));
        Assert.Equal(Number(stages, "dit_chunk_ms"), steps.Sum() + Number(stages, "context_ms"), 2);
        Assert.True(Number(stages, "peak_rss_bytes") >= Number(stages, "rss_bytes"));
        Assert.InRange(Number(stages, "rss_bytes"), 1e7, 1e11);

        var stream = Section(text, "stream");
        foreach (var key in new[] { "first_chunk_ms", "first_chunk_off_stage_ms", "denoise_ms", "decode_ms", "encode_ms", "chunk_interval_ms", "end_to_end_fps",
                     "denoise_stream_interval_ms" })
            Assert.InRange(Number(stream, key), 1e-6, 1e6);
        Assert.Contains(stream["slowest_stage"], new[] { "denoise", "decode", "encode" });
        foreach (var key in new[] { "held_before_denoise_ms", "held_before_decode_ms", "in_transit_ms" })
            Assert.InRange(Number(stream, key), 0, 1e6);
        Assert.InRange(Number(stream, "pipelining_efficiency"), 1e-6, 1.05);
        // A share of chunk time: below zero only by timing jitter on a loaded host; a whole chunk either way is a wrong definition or unit.
        Assert.InRange(Number(stream, "engine_overhead"), -1.0, 1.0);
        // Frames per second and chunk interval describe the same arrivals: 12 frames per steady chunk.
        Assert.Equal(12 / (Number(stream, "chunk_interval_ms") / 1000), Number(stream, "end_to_end_fps"), 1);

        var longStream = Section(text, "long");
        Assert.Equal("10", longStream["early_chunks"]);
        Assert.Equal("12", longStream["late_chunks"]);
        Assert.InRange(Number(longStream, "early_rss_bytes"), 1e7, 1e11);
        Assert.InRange(Number(longStream, "rss_change"), -0.5, 0.5);
        // The rolling cache is allocated once for sink + window: its size cannot move with the stream's length.
        Assert.Equal(longStream["early_kv_cache_bytes"], longStream["late_kv_cache_bytes"]);
        Assert.InRange(Number(longStream, "early_kv_cache_bytes"), 1, 1e9);
    }

    [Fact]
    public void Full_report_rejects_too_few_chunks_in_one_line()
    {
        var stderr = new StringWriter();
        int rc = Cli.Run(["bench", "--chunks", "2", "--long-chunks", "0"], new StringWriter(), stderr);
        Assert.Equal(1, rc);
        Assert.Contains("--chunks must be at least 3", stderr.ToString());
    }

    private static Dictionary<string, string> Section(string text, string section)
    {
        var line = text.Split('\n').Select(l => l.Trim()).SingleOrDefault(l => l.StartsWith($"RESULT section={section} ", StringComparison.Ordinal));
        Assert.True(line is not null, $"no RESULT line for {section} in:\n{text}");
        return line!.Split(' ').Skip(1).Select(kv => kv.Split('=', 2)).ToDictionary(kv => kv[0], kv => kv[1]);
    }

    private static double Number(Dictionary<string, string> figures, string key)
    {
        Assert.True(figures.ContainsKey(key), $"figure {key} missing");
        double x = double.Parse(figures[key], CultureInfo.InvariantCulture);
        Assert.True(double.IsFinite(x), $"{key} = {x}");
        return x;
    }
}
