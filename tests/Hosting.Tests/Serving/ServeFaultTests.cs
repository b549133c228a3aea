using SelfForcing.Actors.Faults;
using SelfForcing.Actors.Messages;

namespace SelfForcing.Hosting.Tests.Serving;

/// <summary>Stages killed mid-chunk during a served stream: the record still holds every chunk once, in order, bit-identical.</summary>
public class ServeFaultTests
{
    private const string Request = """{"prompt": "a lighthouse in a storm", "seed": 21, "chunks": 5}""";

    [Fact]
    [Trait("Category", "FaultInjection")]
    public async Task Faults_in_every_stage_leave_the_published_stream_exactly_once_and_identical()
    {
        List<byte[]> clean;
        await using (var f = await ServeFixture.StartAsync())
        {
            string id = (string)(await f.StartStreamAsync(Request))["stream"]!;
            await f.EventsAsync(id);
            clean = (await f.RecordAsync(f.Subjects.Video(id), l => l.Count >= 6)).Select(m => m.Data!).ToList();
        }

        var faults = new FaultInjector(
        [
            new FaultRule(Stage.TextEncode, FaultAction.Kill),
            new FaultRule(Stage.Denoise, FaultAction.Kill, Chunk: 1, Step: 2),
            new FaultRule(Stage.Denoise, FaultAction.Throw, Chunk: 3, Step: 0),
            new FaultRule(Stage.Decode, FaultAction.PoisonPill, Chunk: 2),
            new FaultRule(Stage.Encode, FaultAction.Kill, Chunk: 0, Step: 1), // after ffmpeg wrote the fragment
            new FaultRule(Stage.Encode, FaultAction.Throw, Chunk: 4, Step: 0),
        ]);
        await using (var f = await ServeFixture.StartAsync(faults: faults))
        {
            string id = (string)(await f.StartStreamAsync(Request))["stream"]!;
            var events = await f.EventsAsync(id);
            Assert.Equal("completed", (string)events[^1]["type"]!);
            Assert.Equal(6, faults.Injected.Count);
            var video = await f.RecordAsync(f.Subjects.Video(id), l => l.Count >= 6);
            VideoRecord.AssertFmp4Sequence(id, video, 5);
            Assert.Equal(clean.Count, video.Count);
            for (int i = 0; i < clean.Count; i++)
                Assert.True(clean[i].AsSpan().SequenceEqual(video[i].Data), $"message {i} differs from the fault-free run");
            Assert.Equal(VideoRecord.ExpectedFrames(5), VideoRecord.DecodedFrames(video.Select(m => m.Data!)));
        }
    }
}
