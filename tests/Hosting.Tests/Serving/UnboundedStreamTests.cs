using System.Diagnostics;
using NATS.Client.Core;
using Xunit.Abstractions;

namespace SelfForcing.Hosting.Tests.Serving;

/// <summary>"chunks": 0 — a stream that runs until cancelled, on the rolling cache.</summary>
[Collection(SerialCollection.Name)]
public class UnboundedStreamTests(ITestOutputHelper output)
{
    [Fact]
    [Trait("Category", "Slow")]
    public async Task Memory_stays_flat_over_hundreds_of_chunks_and_a_slow_viewer_never_holds_the_stream_back()
    {
        await using var f = await ServeFixture.StartAsync();
        // A viewer that never reads: its client keeps 8 messages and drops the rest, and nats-server cuts it off as a slow
        // consumer if it must; neither may slow the stream down or make this process buffer for it.
        await using var slow = new NatsConnection(new NatsOpts { Url = f.Server.Url, SubPendingChannelCapacity = 8, SubPendingChannelFullMode = System.Threading.Channels.BoundedChannelFullMode.DropNewest });
        await slow.ConnectAsync();
        await using var slowSub = await slow.SubscribeCoreAsync($"{f.Subjects.Prefix}.streams.*.video", serializer: NatsRawSerializer<byte[]>.Default);
        await slow.PingAsync();

        string id = (string)(await f.StartStreamAsync("""{"prompt": "an endless road", "seed": 6, "chunks": 0}"""))["stream"]!;
        var stream = f.Host.Api.Streams.Single();
        const int warm = 40, end = 300, windows = 3;
        await AwaitChunks(stream, warm);
        var rss = new List<long> { SettledRss() };
        var cache = await f.Host.Pipeline.CacheStateAsync();
        for (int w = 1; w <= windows; w++)
        {
            await AwaitChunks(stream, warm + (end - warm) * w / windows);
            rss.Add(SettledRss());
        }
        var cacheAfter = await f.Host.Pipeline.CacheStateAsync();
        Assert.Equal("cancelled", (string)(await CancelAndWait(f, id))["type"]!);

        var growthMb = rss.Zip(rss.Skip(1), (a, b) => (b - a) / 1e6).ToArray();
        output.WriteLine($"RSS after {warm} chunks {rss[0] / 1e6:F1} MB, then {string.Join(" MB, ", growthMb.Select(g => g.ToString("+0.0;-0.0")))} MB " +
                         $"over {windows} windows of {(end - warm) / windows} chunks; KV cache {cache.Bytes} → {cacheAfter.Bytes} bytes");
        // One chunk of this stream is ~150 kB of pixels: keeping one per chunk would add ~13 MB in every window. A leak
        // grows every window alike; the allocator grows in steps (one CI run, this test host having run ~180 tests first:
        // 26 MB over all 260 chunks; alone: 1-4 MB), which land in one window. So the median window is held to the
        // bound: ~96 kB a chunk, as the single 25 MB bound over 260 chunks was.
        double median = growthMb.Order().ElementAt(windows / 2);
        Assert.True(median < 8, $"RSS grew {string.Join(", ", growthMb.Select(g => g.ToString("F1")))} MB in windows of {(end - warm) / windows} chunks (median {median:F1})");
        Assert.Equal(cache.Bytes, cacheAfter.Bytes); // the rolling cache wraps in place
        Assert.True(slowSub.Msgs.Count <= 8, $"the slow viewer's client holds {slowSub.Msgs.Count} messages");
        // JetStream keeps the whole record even though the viewer missed it.
        var video = await f.RecordAsync(f.Subjects.Video(id), l => l.Count >= end + 1, TimeSpan.FromSeconds(120));
        Assert.Equal(Enumerable.Range(0, video.Count - 1).Select(i => i.ToString()), video.Skip(1).Select(m => VideoRecord.Header(m, "Sf-Chunk")));
    }

    private static async Task<System.Text.Json.Nodes.JsonObject> CancelAndWait(ServeFixture f, string id)
    {
        await f.RequestAsync(f.Subjects.Cancel, $$"""{"stream": "{{id}}"}""");
        return (await f.EventsAsync(id, TimeSpan.FromSeconds(120)))[^1];
    }

    private static async Task AwaitChunks(Hosting.Serving.ServedStream s, int n)
    {
        var deadline = DateTime.UtcNow.AddMinutes(5);
        while (s.ChunksPublished < n)
        {
            if (DateTime.UtcNow > deadline || !s.Live) throw new Xunit.Sdk.XunitException($"stream {s.State} after {s.ChunksPublished} chunks");
            await Task.Delay(20);
        }
    }

    private static long SettledRss()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        using var p = Process.GetCurrentProcess();
        p.Refresh();
        return p.WorkingSet64;
    }
}
