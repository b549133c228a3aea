using System.Text;
using System.Text.Json.Nodes;
using MessagePack;
using NATS.Client.Core;

namespace SelfForcing.Hosting.Tests.Serving;

/// <summary>The NATS API on a real nats-server: start, list, cancel, prompt, errors; what is published.</summary>
public class ServeApiTests
{
    [Fact]
    public async Task A_started_stream_is_recorded_once_in_order_and_plays()
    {
        await using var f = await ServeFixture.StartAsync();
        var reply = await f.StartStreamAsync("""{"prompt": "a red fox", "seed": 5, "chunks": 3}""");
        string id = (string)reply["stream"]!;
        Assert.Equal(5, (long)reply["seed"]!);
        Assert.Equal(f.Subjects.Video(id), (string)reply["video_subject"]!);
        Assert.Equal(f.Subjects.Events(id), (string)reply["events_subject"]!);

        var events = await f.EventsAsync(id);
        Assert.Equal(["started", "chunk", "chunk", "chunk", "completed"], events.Select(e => (string)e["type"]!));
        Assert.Equal([0, 1, 2], events.Where(e => (string)e["type"]! == "chunk").Select(e => (int)e["chunk"]!));
        foreach (var e in events.Where(e => (string)e["type"]! == "chunk"))
        {
            Assert.True((double)e["denoise_seconds"]! > 0, e.ToJsonString());
            Assert.True((double)e["decode_seconds"]! > 0, e.ToJsonString());
            Assert.True((double)e["encode_seconds"]! > 0, e.ToJsonString());
        }
        Assert.Equal(VideoRecord.ExpectedFrames(3), (int)events[^1]["frames"]!);

        var video = await f.RecordAsync(f.Subjects.Video(id), l => l.Count >= 4);
        VideoRecord.AssertFmp4Sequence(id, video, 3);
        Assert.Equal(VideoRecord.ExpectedFrames(3), VideoRecord.DecodedFrames(video.Select(m => m.Data!)));
        Assert.Equal(["9", "12", "12"], video.Skip(1).Select(m => VideoRecord.Header(m, "Sf-Frames")));

        var list = await f.RequestAsync(f.Subjects.List, "{}");
        var entry = list["streams"]!.AsArray().Single(s => (string)s!["stream"]! == id)!;
        Assert.Equal("completed", (string)entry["state"]!);
        Assert.Equal(3, (int)entry["chunks_published"]!);
        Assert.Equal("a red fox", (string)entry["prompt"]!);
    }

    [Fact]
    public async Task Jpeg_streams_publish_one_message_per_frame()
    {
        await using var f = await ServeFixture.StartAsync();
        var reply = await f.StartStreamAsync("""{"prompt": "x", "seed": 1, "chunks": 2, "format": "jpeg", "fps": 8}""");
        string id = (string)reply["stream"]!;
        int frames = VideoRecord.ExpectedFrames(2);
        var video = await f.RecordAsync(f.Subjects.Video(id), l => l.Count >= frames);
        Assert.Equal(frames, video.Count);
        for (int i = 0; i < frames; i++)
        {
            Assert.Equal("jpeg", VideoRecord.Header(video[i], "Sf-Kind"));
            Assert.Equal($"{id}-jpeg-{i}", VideoRecord.Header(video[i], "Nats-Msg-Id"));
            Assert.Equal(0xD8, video[i].Data![1]);
        }
    }

    [Theory]
    [InlineData("start", "{", "malformed JSON", null)]
    [InlineData("start", "[1]", "must be a JSON object", null)]
    [InlineData("start", """{"seed": 1}""", "'prompt' is required", "prompt")]
    [InlineData("start", """{"prompt": "x", "colour": "red"}""", "unknown field 'colour'", "colour")]
    [InlineData("start", """{"prompt": "x", "fps": 30}""", "'fps' must be between 1 and 16", "fps")]
    [InlineData("start", """{"prompt": "x", "fps": "fast"}""", "'fps' must be a number", "fps")]
    [InlineData("start", """{"prompt": "x", "seed": -2}""", "'seed' must be between -1", "seed")]
    [InlineData("start", """{"prompt": "x", "seed": 1.5}""", "'seed' must be an integer", "seed")]
    [InlineData("start", """{"prompt": "x", "chunks": -1}""", "'chunks' must be between 0", "chunks")]
    [InlineData("start", """{"prompt": "x", "decoder": "vae"}""", "'decoder' must be one of preview", "decoder")]
    [InlineData("start", """{"prompt": "x", "format": "gif"}""", "'format' must be one of fmp4, jpeg", "format")]
    [InlineData("start", """{"prompt": ""}""", "'prompt' is empty", "prompt")]
    [InlineData("cancel", """{"stream": "s000000000000"}""", "unknown stream", "stream")]
    [InlineData("cancel", """{}""", "'stream' is required", "stream")]
    [InlineData("prompt", """{"stream": "nope", "prompt": "y"}""", "unknown stream 'nope'", "stream")]
    [InlineData("list", """{"all": true}""", "unknown field 'all'", "all")]
    [InlineData("bogus", """{}""", "unknown API subject", null)]
    public async Task Bad_requests_get_an_error_naming_the_field_and_the_server_keeps_serving(string verb, string body, string message, string? field)
    {
        await using var f = await ServeFixture.StartAsync();
        var reply = await f.RequestAsync($"{f.Subjects.Prefix}.api.{verb}", body);
        Assert.True(reply.ContainsKey("error"), reply.ToJsonString());
        Assert.Contains(message, (string)reply["error"]!);
        Assert.Equal(field, (string?)reply["field"]);
        var ok = await f.StartStreamAsync("""{"prompt": "still serving", "chunks": 1}""");
        Assert.Equal("completed", (string)(await f.EventsAsync((string)ok["stream"]!))[^1]["type"]!);
    }

    [Fact]
    public async Task At_capacity_is_an_error_and_a_slot_frees_when_a_stream_ends()
    {
        await using var f = await ServeFixture.StartAsync("selfforcing.pipeline.max-streams = 1");
        var first = await f.StartStreamAsync("""{"prompt": "endless", "chunks": 0}""");
        var refused = await f.RequestAsync(f.Subjects.Start, """{"prompt": "second", "chunks": 1}""");
        Assert.Equal("at capacity", (string)refused["error"]!);
        Assert.Equal(true, (bool)(await f.RequestAsync(f.Subjects.Cancel, $$"""{"stream": "{{first["stream"]}}"}"""))["ok"]!);
        var events = await f.EventsAsync((string)first["stream"]!);
        Assert.Equal("cancelled", (string)events[^1]["type"]!);
        Assert.Equal("cancelled by a client", (string)events[^1]["reason"]!);
        await AwaitAsync(async () => (await f.Host.Pipeline.CacheStateAsync()).CommittedChunks.Count == 0, "the cancelled stream's cache was not freed");
        var again = await f.StartStreamAsync("""{"prompt": "second", "chunks": 1}""");
        Assert.Equal("completed", (string)(await f.EventsAsync((string)again["stream"]!))[^1]["type"]!);
    }

    [Fact]
    public async Task MessagePack_requests_get_MessagePack_replies()
    {
        await using var f = await ServeFixture.StartAsync();
        var raw = NatsRawSerializer<byte[]>.Default;
        var body = MessagePackSerializer.ConvertFromJson("""{"prompt": "msgpack", "seed": 3, "chunks": 1}""");
        var reply = await f.Client.RequestAsync<byte[], byte[]>(f.Subjects.Start, body, headers: new NatsHeaders { ["Content-Type"] = "application/msgpack" },
            requestSerializer: raw, replySerializer: raw, replyOpts: new NatsSubOpts { Timeout = TimeSpan.FromSeconds(30) });
        Assert.Equal("application/msgpack", reply.Headers!["Content-Type"].ToString());
        var json = JsonNode.Parse(MessagePackSerializer.ConvertToJson(reply.Data!))!.AsObject();
        Assert.Equal(3, (long)json["seed"]!);
        Assert.StartsWith("s", (string)json["stream"]!);
    }

    [Fact]
    public async Task Hostile_bodies_get_an_error_and_the_server_keeps_serving()
    {
        await using var f = await ServeFixture.StartAsync();
        var raw = NatsRawSerializer<byte[]>.Default;
        async Task<JsonObject> Send(byte[] body, bool msgpack)
        {
            var reply = await f.Client.RequestAsync<byte[], byte[]>(f.Subjects.Start, body,
                headers: msgpack ? new NatsHeaders { ["Content-Type"] = "application/msgpack" } : null,
                requestSerializer: raw, replySerializer: raw, replyOpts: new NatsSubOpts { Timeout = TimeSpan.FromSeconds(30) });
            return JsonNode.Parse(msgpack ? MessagePackSerializer.ConvertToJson(reply.Data!) : Encoding.UTF8.GetString(reply.Data!))!.AsObject();
        }
        // 100,000 nested MessagePack arrays (0x91 = array of one), 100,000 nested JSON arrays, a truncated map, 300 kB.
        var deepMsgpack = Enumerable.Repeat((byte)0x91, 100_000).Append((byte)0x01).ToArray();
        Assert.Contains("malformed MessagePack", (string)(await Send(deepMsgpack, msgpack: true))["error"]!);
        Assert.Contains("malformed JSON", (string)(await Send(Encoding.UTF8.GetBytes(new string('[', 100_000)), msgpack: false))["error"]!);
        Assert.Contains("malformed MessagePack", (string)(await Send([0x82, 0xa1, 0x61], msgpack: true))["error"]!);
        Assert.Contains("limit", (string)(await Send(new byte[300_000], msgpack: false))["error"]!);
        var ok = await f.StartStreamAsync("""{"prompt": "still serving", "chunks": 1}""");
        Assert.Equal("completed", (string)(await f.EventsAsync((string)ok["stream"]!))[^1]["type"]!);
    }

    [Fact]
    public async Task A_prompt_switch_answers_the_first_chunk_it_applies_to_and_is_announced()
    {
        await using var f = await ServeFixture.StartAsync();
        var start = await f.StartStreamAsync("""{"prompt": "a red fox", "seed": 2, "chunks": 12}""");
        string id = (string)start["stream"]!;
        var reply = await f.RequestAsync(f.Subjects.Prompt, $$"""{"stream": "{{id}}", "prompt": "a blue whale"}""");
        Assert.True((bool)reply["ok"]!, reply.ToJsonString());
        int from = (int)reply["from_chunk"]!;
        Assert.InRange(from, 1, 11);
        var events = await f.EventsAsync(id);
        var announced = events.Single(e => (string)e["type"]! == "prompt");
        Assert.Equal(from, (int)announced["chunk"]!);
        Assert.Equal("completed", (string)events[^1]["type"]!);
        var list = await f.RequestAsync(f.Subjects.List, "");
        Assert.Equal("a blue whale", (string)list["streams"]!.AsArray().Single(s => (string)s!["stream"]! == id)!["prompt"]!);
    }

    private static async Task AwaitAsync(Func<Task<bool>> condition, string failure)
    {
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline) throw new Xunit.Sdk.XunitException(failure);
            await Task.Delay(50);
        }
    }
}
