namespace SelfForcing.Hosting.Tests.Serving;

/// <summary>The real nats-server process killed mid-stream and started again on the same port and store.</summary>
public class NatsRestartTests
{
    [Fact]
    [Trait("Category", "FaultInjection")]
    public async Task A_stream_survives_a_nats_server_restart_and_the_record_holds_every_chunk_once()
    {
        const int chunks = 24;
        await using var f = await ServeFixture.StartAsync();
        string id = (string)(await f.StartStreamAsync($$"""{"prompt": "a river at dusk", "seed": 8, "chunks": {{chunks}}}"""))["stream"]!;
        // Let a few chunks through, then take the server away while the stream is running.
        await AwaitAsync(() => f.Host.Api.Streams.Single().ChunksPublished >= 3);
        int before = f.Host.Api.Streams.Single().ChunksPublished;
        Assert.True(before < chunks, "the stream finished before the restart; make it longer");
        await f.Server.RestartAsync(TimeSpan.FromSeconds(1));
        var events = await f.EventsAsync(id, TimeSpan.FromSeconds(120));
        Assert.Equal("completed", (string)events[^1]["type"]!);
        var video = await f.RecordAsync(f.Subjects.Video(id), l => l.Count >= chunks + 1, TimeSpan.FromSeconds(60));
        VideoRecord.AssertFmp4Sequence(id, video, chunks);
        Assert.Equal(VideoRecord.ExpectedFrames(chunks), VideoRecord.DecodedFrames(video.Select(m => m.Data!)));
        Assert.Equal(Enumerable.Range(0, chunks), events.Where(e => (string)e["type"]! == "chunk").Select(e => (int)e["chunk"]!));
    }

    private static async Task AwaitAsync(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (!condition())
        {
            if (DateTime.UtcNow > deadline) throw new Xunit.Sdk.XunitException("timed out");
            await Task.Delay(10);
        }
    }
}
