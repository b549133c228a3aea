using NATS.Client.Core;

namespace SelfForcing.Hosting.Tests.Serving;

/// <summary>Many live viewers (core NATS subscribers) of one stream.</summary>
public class ServeViewerTests
{
    [Fact]
    public async Task Fifty_viewers_each_receive_every_segment_in_order()
    {
        await using var f = await ServeFixture.StartAsync();
        const int viewers = 50, chunks = 4;
        var raw = NatsRawSerializer<byte[]>.Default;
        // Viewers must subscribe before the stream exists: the id is known only from the reply, so they listen to
        // every stream's video and keep this one's messages.
        var connections = new List<NatsConnection>();
        var subs = new List<INatsSub<byte[]>>();
        for (int i = 0; i < viewers; i++)
        {
            var c = new NatsConnection(new NatsOpts { Url = f.Server.Url });
            await c.ConnectAsync();
            connections.Add(c);
            subs.Add(await c.SubscribeCoreAsync($"{f.Subjects.Prefix}.streams.*.video", serializer: raw));
        }
        await Task.WhenAll(connections.Select(c => c.PingAsync().AsTask()));
        try
        {
            string id = (string)(await f.StartStreamAsync($$"""{"prompt": "crowd", "seed": 4, "chunks": {{chunks}}}"""))["stream"]!;
            var expected = (await f.RecordAsync(f.Subjects.Video(id), l => l.Count >= chunks + 1)).Select(m => m.Data!).ToList();
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            var received = await Task.WhenAll(subs.Select(async sub =>
            {
                var got = new List<NatsMsg<byte[]>>();
                await foreach (var m in sub.Msgs.ReadAllAsync(cts.Token))
                {
                    if (m.Subject != f.Subjects.Video(id)) continue;
                    got.Add(m);
                    if (got.Count == chunks + 1) break;
                }
                return got;
            }));
            foreach (var got in received)
            {
                Assert.Equal(["init", "segment", "segment", "segment", "segment"], got.Select(m => m.Headers!["Sf-Kind"].ToString()));
                Assert.Equal(["0", "0", "1", "2", "3"], got.Select(m => m.Headers!["Sf-Chunk"].ToString()));
                for (int i = 0; i < expected.Count; i++) Assert.True(expected[i].AsSpan().SequenceEqual(got[i].Data));
            }
        }
        finally
        {
            foreach (var s in subs) await s.DisposeAsync();
            foreach (var c in connections) await c.DisposeAsync();
        }
    }
}
