using SelfForcing.Hosting.Tests.Serving;

namespace SelfForcing.Hosting.Tests.Cluster;

/// <summary>
/// Several <c>selfforcing serve</c> processes with different roles on loopback, a real nats-server, and nodes killed
/// with SIGKILL mid-stream: the published record must come out complete, once, in order, and identical to a run
/// without the loss.
/// </summary>
[Trait("Category", "Cluster")]
[Collection(SerialCollection.Name)]
public class ClusterTests
{
    private const int Chunks = 20;
    private static readonly string Request = $$"""{"prompt": "a lighthouse in a storm", "seed": 33, "chunks": {{Chunks}}}""";

    private static async Task<List<byte[]>> ReferenceRun(ClusterRig rig)
    {
        string id = await rig.StartStreamAsync(Request);
        var events = await rig.EventsAsync(id);
        Assert.Equal("completed", (string)events[^1]["type"]!);
        return await rig.VideoAsync(id, Chunks + 1);
    }

    /// <summary>Runs the request, SIGKILLs the node serving <paramref name="role"/> once two chunks are out, and checks the stream completes identical.</summary>
    private static async Task KillMidStream(ClusterRig rig, string role)
    {
        var expected = await ReferenceRun(rig);
        string id = await rig.StartStreamAsync(Request);
        await rig.EventsUntilAsync(id, l => l.Count(e => (string?)e["type"] == "chunk") >= 2);
        int port = await rig.NodeOfAsync(id, role);
        Assert.NotEqual(rig.SeedPort, port);
        rig.KillNode(port);

        var events = await rig.EventsAsync(id);
        Assert.True((string)events[^1]["type"]! == "completed", events[^1].ToJsonString());
        Assert.Equal(Chunks, events.Count(e => (string?)e["type"] == "chunk"));
        var video = await rig.RecordAsync($"{rig.Prefix}.streams.{id}.video", l => l.Count >= Chunks + 1);
        VideoRecord.AssertFmp4Sequence(id, video, Chunks); // every chunk once, in order
        Assert.Equal(expected.Count, video.Count);
        for (int i = 0; i < expected.Count; i++)
            Assert.True(expected[i].AsSpan().SequenceEqual(video[i].Data), $"message {i} differs from the run without the loss");
        int moved = await rig.NodeOfAsync(await rig.StartStreamAsync(Request), role); // the survivor takes new streams
        Assert.NotEqual(port, moved);
    }

    [Fact]
    public async Task A_stream_runs_across_nodes_with_different_roles_and_equals_a_single_process()
    {
        List<byte[]> single;
        await using (var one = await ClusterRig.StartAsync("api,text-encoder,denoiser,decoder,publisher"))
            single = await ReferenceRun(one);
        await using var rig = await ClusterRig.StartAsync("api,publisher", "", "text-encoder,denoiser", "decoder");
        string id = await rig.StartStreamAsync(Request);
        var events = await rig.EventsAsync(id);
        Assert.Equal("completed", (string)events[^1]["type"]!);
        var video = await rig.VideoAsync(id, Chunks + 1);
        Assert.Equal(single.Count, video.Count);
        for (int i = 0; i < single.Count; i++) Assert.True(single[i].AsSpan().SequenceEqual(video[i]), $"message {i} differs from one process");
    }

    [Fact]
    public async Task Denoiser_node_killed_mid_stream_resumes_on_another()
    {
        await using var rig = await ClusterRig.StartAsync("api,text-encoder,publisher,decoder", "", "denoiser", "denoiser");
        await KillMidStream(rig, "denoiser");
    }

    [Fact]
    public async Task Decoder_node_killed_mid_stream_resumes_on_another()
    {
        await using var rig = await ClusterRig.StartAsync("api,text-encoder,publisher,denoiser", "", "decoder", "decoder");
        await KillMidStream(rig, "decoder");
    }

    [Fact]
    public async Task With_no_node_left_to_take_it_the_stream_fails_with_a_reason_and_the_server_goes_on()
    {
        await using var rig = await ClusterRig.StartAsync("api,text-encoder,publisher,decoder", "", "denoiser");
        string id = await rig.StartStreamAsync(Request);
        await rig.EventsUntilAsync(id, l => l.Any(e => (string?)e["type"] == "chunk"));
        rig.KillNode(await rig.NodeOfAsync(id, "denoiser"));
        var events = await rig.EventsAsync(id);
        Assert.Equal("failed", (string)events[^1]["type"]!);
        Assert.Contains("no other can take it", (string)events[^1]["reason"]!);
        var reply = await rig.RequestAsync("start", Request);
        Assert.Contains("no denoiser node is up", (string)reply["error"]!);
        Assert.NotNull((await rig.RequestAsync("list", "{}"))["streams"]);
    }

    [Fact]
    public async Task A_second_denoiser_node_joining_adds_capacity()
    {
        await using var rig = await ClusterRig.StartAsync("api,text-encoder,publisher,decoder", "selfforcing.pipeline.max-streams = 1", "denoiser");
        string first = await rig.StartStreamAsync("""{"prompt": "first", "seed": 1, "chunks": 0}""");
        var refused = await rig.RequestAsync("start", """{"prompt": "second", "seed": 2, "chunks": 0}""");
        Assert.Contains("at capacity", (string)refused["error"]!);

        await rig.AddNodeAsync("denoiser");
        string second = await rig.StartStreamAsync("""{"prompt": "second", "seed": 2, "chunks": 0}""");
        Assert.NotEqual(await rig.NodeOfAsync(first, "denoiser"), await rig.NodeOfAsync(second, "denoiser"));
        await rig.EventsUntilAsync(second, l => l.Any(e => (string?)e["type"] == "chunk"));
        foreach (var id in new[] { first, second }) await rig.RequestAsync("cancel", $$"""{"stream": "{{id}}"}""");
        Assert.Equal("cancelled", (string)(await rig.EventsAsync(first))[^1]["type"]!);
    }
}
