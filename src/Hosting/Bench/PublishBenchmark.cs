using System.Diagnostics;
using NATS.Client.Core;
using NATS.Client.JetStream;
using SelfForcing.Actors.Video;
using SelfForcing.Hosting.Serving;

namespace SelfForcing.Hosting.Bench;

/// <summary>
/// Times the publish step of <c>serve</c>: each chunk's fMP4 messages and its chunk event stored in a JetStream record
/// (file storage, each message acknowledged by the store, as <see cref="StreamPublisher"/> does), on the given server
/// or on a nats-server started for the run. Encoding is done beforehand and not counted. The benchmark's record gets its
/// own subject prefix and stream name and is deleted afterwards, so a live server's record is left alone.
/// </summary>
public static class PublishBenchmark
{
    /// <returns>Median milliseconds per chunk after the first (the first includes the init segment).</returns>
    public static async Task<double> RunAsync(string? natsUrl, int width, int height, int frames, int chunks, double fps, TextWriter log,
        CancellationToken ct = default)
    {
        using var local = natsUrl is null ? await LocalNatsServer.StartAsync(ct) : null;
        string url = natsUrl ?? local!.Url;
        var prefix = $"sfbench{Guid.NewGuid():N}"[..20];
        var settings = new ServeSettings { NatsUrl = url, SubjectPrefix = prefix }.Validate();
        var subjects = new ApiSubjects(prefix);
        await using var nats = new NatsConnection(new NatsOpts { Url = url, Name = "selfforcing-bench" });
        try { await nats.ConnectAsync(); }
        catch (NatsException e) { throw new InvalidOperationException($"cannot reach NATS at {url}: {e.Message}", e); }
        var record = await JetStreamRecord.OpenAsync(nats, settings, subjects, ct);
        try
        {
            var payloads = EncodeBenchmark.Chunks(width, height, frames, chunks + 1, fps);
            var times = new List<double>();
            long bytes = 0;
            for (int c = 0; c <= chunks; c++)
            {
                var clock = Stopwatch.StartNew();
                foreach (var p in payloads[c])
                    await record.PublishAsync(subjects.Video("bench"), p.Data, StreamPublisher.VideoHeaders("bench", c, p), ct);
                var chunkEvent = System.Text.Encoding.UTF8.GetBytes($"{{\"type\":\"chunk\",\"chunk\":{c},\"frames\":{frames}}}");
                await record.PublishAsync(subjects.Events("bench"), chunkEvent, new NatsHeaders { ["Nats-Msg-Id"] = $"bench-event-{c}" }, ct);
                double ms = clock.Elapsed.TotalMilliseconds;
                if (c == 0) continue;
                times.Add(ms);
                bytes += payloads[c].Sum(p => p.Data.LongLength);
                log.WriteLine($"chunk {c}: {ms:F1} ms, {payloads[c].Count} message(s), {payloads[c].Sum(p => p.Data.Length)} bytes");
            }
            double median = BenchStats.Median(times);
            log.WriteLine($"RESULT stage=publish server={(natsUrl is null ? "local" : "given")} size={width}x{height} frames/chunk={frames} " +
                          $"publish_ms/chunk={median:F1} bytes/chunk={bytes / chunks}");
            return median;
        }
        finally
        {
            try { await new NatsJSContext(nats).DeleteStreamAsync(settings.StreamName, CancellationToken.None); }
            catch (NatsException) { } // best effort: a bench record left on a given server expires by its max age
        }
    }
}
