using System.Net.WebSockets;
using System.Text.Json.Nodes;
using SelfForcing.Hosting.Serving;
using SelfForcing.Hosting.Tests.Serving;

namespace SelfForcing.Hosting.Tests.Page;

/// <summary>The page's HTTP API and WebSocket relay, without a browser: same replies as NATS, the record relayed exactly.</summary>
public class PageApiTests
{
    [Fact]
    public async Task The_page_and_its_assets_are_served_from_the_host()
    {
        await using var f = await PageClient.StartAsync();
        Assert.StartsWith("http://127.0.0.1:", f.Host.PageUrl);
        using var http = new HttpClient { BaseAddress = new Uri(f.Host.PageUrl!) };
        var html = await http.GetStringAsync("");
        Assert.Contains("<title>Self Forcing</title>", html);
        foreach (var asset in new[] { "assets/page.js", "assets/page.css" })
        {
            var r = await http.GetAsync(asset);
            Assert.True(r.IsSuccessStatusCode, $"{asset}: {r.StatusCode}");
            Assert.True((await r.Content.ReadAsByteArrayAsync()).Length > 500, asset);
        }
        // Nothing from elsewhere: the machines that run this have no internet.
        Assert.DoesNotContain("://", html.Replace("http://www.w3.org", ""));
        var info = JsonNode.Parse(await http.GetStringAsync("api/info"))!.AsObject();
        Assert.Equal(["preview"], info["decoders"]!.AsArray().Select(d => (string)d!));
        Assert.Equal(16.0, (double)info["max_fps"]!);
    }

    [Theory]
    [InlineData("start", """{"prompt": "x", "fps": 99}""")]
    [InlineData("start", """{"seed": 1}""")]
    [InlineData("start", """{"prompt": "x", "decoder": "vae"}""")]
    [InlineData("start", """{"prompt": "x", "colour": "red"}""")]
    [InlineData("start", "{")]
    [InlineData("cancel", """{"stream": "s000000000000"}""")]
    [InlineData("prompt", """{"stream": "nope", "prompt": "y"}""")]
    [InlineData("list", """{"all": true}""")]
    public async Task Http_requests_get_exactly_the_reply_a_nats_client_gets(string verb, string body)
    {
        await using var f = await PageClient.StartAsync();
        var nats = await f.RequestAsync($"{f.Subjects.Prefix}.api.{verb}", body);
        var (status, http) = await PageClient.PostAsync(f, verb, body);
        Assert.True(nats.ContainsKey("error"), nats.ToJsonString());
        Assert.Equal(nats.ToJsonString(), http.ToJsonString());
        Assert.Equal(400, status);
    }

    [Fact]
    public async Task A_stream_started_over_http_is_relayed_message_for_message_from_the_record()
    {
        await using var f = await PageClient.StartAsync();
        var (status, reply) = await PageClient.PostAsync(f, "start", """{"prompt": "a red fox", "seed": 5, "chunks": 3, "fps": 6}""");
        Assert.Equal(200, status);
        Assert.Equal(5, (long)reply["seed"]!);
        string id = (string)reply["stream"]!;

        // Joined at once (while it runs) and again after it ended: both get the whole record in order, then a close.
        using var live = await PageClient.ConnectAsync(f, id);
        var during = await PageClient.ReceiveAllAsync(live);
        using var late = await PageClient.ConnectAsync(f, id);
        var after = await PageClient.ReceiveAllAsync(late);

        var video = await f.RecordAsync(f.Subjects.Video(id), l => l.Count >= 4);
        var events = await f.EventsAsync(id);
        foreach (var got in new[] { during, after })
        {
            Assert.Equal(video.Select(m => Convert.ToHexString(m.Data!)), got.Where(m => m.IsVideo).Select(m => Convert.ToHexString(m.Data)));
            Assert.Equal(["init", "segment", "segment", "segment"], got.Where(m => m.IsVideo).Select(m => m.Kind!));
            Assert.Equal(events.Select(e => e.ToJsonString()), got.Where(m => !m.IsVideo).Select(m => m.Event.ToJsonString()));
            Assert.Equal("completed", (string)got[^1].Event["type"]!);
            Assert.True(got.Zip(got.Skip(1)).All(p => p.First.Seq < p.Second.Seq), "sequences must increase");
        }
        Assert.Equal(VideoRecord.ExpectedFrames(3), VideoRecord.DecodedFrames(during.Where(m => m.IsVideo).Select(m => m.Data)));
    }

    [Fact]
    public async Task A_viewer_resumes_after_the_last_sequence_it_got_and_can_jump_to_live()
    {
        await using var f = await PageClient.StartAsync();
        var (_, reply) = await PageClient.PostAsync(f, "start", """{"prompt": "endless", "seed": 2, "chunks": 0}""");
        string id = (string)reply["stream"]!;
        using var first = await PageClient.ConnectAsync(f, id);
        var head = new List<RelayMessage>();
        while (head.Count(m => m.Kind == "segment") < 2) head.Add((await PageClient.ReceiveAsync(first))!);
        await first.CloseAsync(WebSocketCloseStatus.NormalClosure, "reload", CancellationToken.None);

        // A reconnect from the next sequence continues without a gap or a repeat.
        using var resumed = await PageClient.ConnectAsync(f, id, (head[^1].Seq + 1).ToString());
        var next = (await PageClient.ReceiveAsync(resumed))!;
        var record = await f.RecordAsync($"{f.Subjects.Prefix}.streams.{id}.video", l => l.Count >= 3);
        Assert.True(next.Seq > head[^1].Seq);

        // Live: the init segment and the started event, then the newest segment — not chunk 0 again.
        await AwaitAsync(() => f.Host.Api.Find(id)!.ChunksPublished >= 4);
        using var jump = await PageClient.ConnectAsync(f, id, "live");
        var started = (await PageClient.ReceiveAsync(jump))!;
        var init = (await PageClient.ReceiveAsync(jump))!;
        var segment = (await PageClient.ReceiveAsync(jump))!;
        Assert.Equal("started", (string)started.Event["type"]!);
        Assert.Equal("init", init.Kind);
        Assert.Equal("segment", segment.Kind);
        Assert.True((int)segment.Header["chunk"]! >= 3, segment.Header.ToJsonString());
        Assert.True(init.Data.AsSpan().SequenceEqual(record[0].Data), "the live viewer's init segment is the stream's");

        Assert.Equal(200, (await PageClient.PostAsync(f, "cancel", $$"""{"stream": "{{id}}"}""")).Status);
        var rest = await PageClient.ReceiveAllAsync(jump);
        Assert.Equal("cancelled", (string)rest.Last(m => !m.IsVideo).Event["type"]!);
    }

    [Fact]
    public async Task An_unknown_stream_is_an_error_message_not_a_silent_socket()
    {
        await using var f = await PageClient.StartAsync();
        using var ws = await PageClient.ConnectAsync(f, "s0nope");
        var m = (await PageClient.ReceiveAsync(ws))!;
        Assert.Equal("text", (string)m.Header["subject"]!);
        Assert.Equal("unknown stream 's0nope'", (string)m.Event["error"]!);
        Assert.Null(await PageClient.ReceiveAsync(ws));

        // A wildcard is not a way to read every stream.
        await PageClient.PostAsync(f, "start", """{"prompt": "private", "chunks": 1}""");
        using var wild = await PageClient.ConnectAsync(f, "*");
        var refused = (await PageClient.ReceiveAsync(wild))!;
        Assert.Equal("unknown stream '*'", (string)refused.Event["error"]!);
    }

    [Fact]
    [Trait("Category", "FaultInjection")]
    public async Task The_relay_survives_a_nats_server_restart_without_gaps_or_repeats()
    {
        const int chunks = 16;
        await using var f = await PageClient.StartAsync();
        var (_, reply) = await PageClient.PostAsync(f, "start", $$"""{"prompt": "a river", "seed": 8, "chunks": {{chunks}}}""");
        string id = (string)reply["stream"]!;
        using var ws = await PageClient.ConnectAsync(f, id);
        var got = new List<RelayMessage>();
        while (got.Count(m => m.Kind == "segment") < 2) got.Add((await PageClient.ReceiveAsync(ws))!);
        Assert.True(f.Host.Api.Find(id)!.ChunksPublished < chunks, "the stream finished before the restart; make it longer");
        await f.Server.RestartAsync(TimeSpan.FromSeconds(1));
        got.AddRange(await PageClient.ReceiveAllAsync(ws, TimeSpan.FromSeconds(120)));
        Assert.Equal(Enumerable.Range(0, chunks).Select(c => c.ToString()), got.Where(m => m.Kind == "segment").Select(m => ((int)m.Header["chunk"]!).ToString()));
        Assert.Equal("completed", (string)got[^1].Event["type"]!);
        Assert.Equal(VideoRecord.ExpectedFrames(chunks), VideoRecord.DecodedFrames(got.Where(m => m.IsVideo).Select(m => m.Data)));
    }

    [Theory]
    [InlineData("0.0.0.0:8080", false, "--http-allow-remote")]
    [InlineData("192.168.1.5:80", false, "--http-allow-remote")]
    [InlineData("nonsense", false, "must look like 127.0.0.1:8080")]
    [InlineData("127.0.0.1:8080", false, null)]
    [InlineData("localhost:8080", false, null)]
    [InlineData("0.0.0.0:8080", true, null)]
    public void Binding_the_page_beyond_loopback_must_be_asked_for(string http, bool allowRemote, string? error)
    {
        var s = new ServeSettings { Http = http, HttpAllowRemote = allowRemote };
        if (error is null) { s.Validate(); return; }
        Assert.Contains(error, Assert.Throws<ArgumentException>(() => s.Validate()).Message);
    }

    private static async Task AwaitAsync(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (!condition())
        {
            if (DateTime.UtcNow > deadline) throw new Xunit.Sdk.XunitException("timed out");
            await Task.Delay(20);
        }
    }
}
