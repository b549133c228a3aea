using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json.Nodes;
using NATS.Client.Core;

namespace SelfForcing.Hosting.Tests.Serving;

/// <summary><c>selfforcing serve</c> as a user runs it: a real process, a ready line, SIGTERM, one-line errors.</summary>
public class ServeCommandTests
{
    [Fact]
    public async Task Serve_says_when_ready_serves_a_stream_and_stops_cleanly_on_SIGTERM()
    {
        await using var nats = await NatsServer.StartAsync();
        using var serve = ServeProcess.Start("--nats", nats.Url, "--subject-prefix", "cli.test", "--latent-height", "8", "--latent-width", "8");
        await serve.WaitForLineAsync("serving on", TimeSpan.FromSeconds(90));
        Assert.Contains($"serving on {nats.Url} (api subject cli.test.api.>)", serve.Stdout);

        await using var client = new NatsConnection(new NatsOpts { Url = nats.Url });
        var raw = NatsRawSerializer<byte[]>.Default;
        var reply = await client.RequestAsync<byte[], byte[]>("cli.test.api.start", """{"prompt": "cli", "chunks": 0}"""u8.ToArray(),
            requestSerializer: raw, replySerializer: raw, replyOpts: new NatsSubOpts { Timeout = TimeSpan.FromSeconds(30) });
        var started = JsonNode.Parse(reply.Data!)!.AsObject();
        string eventsSubject = (string)started["events_subject"]!;
        await using var events = await client.SubscribeCoreAsync(eventsSubject, serializer: raw);
        // Wait until the stream is live, then stop the server under it.
        using (var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60)))
            await foreach (var m in events.Msgs.ReadAllAsync(cts.Token))
                if ((string)JsonNode.Parse(m.Data!)!["type"]! == "chunk") break;

        serve.Terminate();
        Assert.True(serve.WaitForExit(TimeSpan.FromSeconds(60)), "serve did not exit after SIGTERM");
        Assert.True(serve.ExitCode == 0, await serve.Stderr);
        Assert.Contains("stopped", serve.Stdout);
        Assert.Contains("NOISE", await serve.Stderr); // the tiny model says what it is
        // Its stream was cancelled and said so before the server went away.
        string? last = null;
        using (var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10)))
            await foreach (var m in events.Msgs.ReadAllAsync(cts.Token))
            {
                last = (string)JsonNode.Parse(m.Data!)!["type"]!;
                if (last != "chunk") break;
            }
        Assert.Equal("cancelled", last);
    }

    [Fact]
    public async Task Unreachable_nats_is_one_line_and_exit_1()
    {
        int port = NatsServer.FreePort(); // nothing listens there
        using var serve = ServeProcess.Start("--nats", $"nats://127.0.0.1:{port}");
        var stderr = await serve.Stderr;
        Assert.True(serve.WaitForExit(TimeSpan.FromSeconds(60)));
        Assert.Equal(1, serve.ExitCode);
        var lines = stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.True(lines.Length == 1, stderr);
        Assert.StartsWith($"error: cannot reach NATS at nats://127.0.0.1:{port}", lines[0]);
    }

    [Fact]
    public async Task A_bad_subject_prefix_is_refused_before_anything_starts()
    {
        using var serve = ServeProcess.Start("--nats", "nats://127.0.0.1:1", "--subject-prefix", "bad prefix>");
        var stderr = await serve.Stderr;
        Assert.True(serve.WaitForExit(TimeSpan.FromSeconds(60)));
        Assert.Equal(1, serve.ExitCode);
        Assert.Contains("subject-prefix 'bad prefix>'", stderr);
    }
}
