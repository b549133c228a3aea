using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json.Nodes;
using NATS.Client.Core;

namespace SelfForcing.Hosting.Tests.Serving;

/// <summary><c>selfforcing serve</c> as a user runs it: a real process, a ready line, SIGTERM, one-line errors.</summary>
public class ServeCommandTests
{
    [DllImport("libc", SetLastError = true)]
    private static extern int kill(int pid, int sig);

    /// <summary>The real CLI as a child process; disposing it kills it if a failed test left it running.</summary>
    private sealed class ServeProcess(Process process) : IDisposable
    {
        public Process Process { get; } = process;

        public void Dispose()
        {
            try { if (!Process.HasExited) Process.Kill(entireProcessTree: true); }
            catch (InvalidOperationException) { }
            Process.Dispose();
        }
    }

    private static ServeProcess Run(params string[] args)
    {
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { "exec", Path.Combine(AppContext.BaseDirectory, "selfforcing.dll"), "serve" }.Concat(args)) psi.ArgumentList.Add(a);
        return new ServeProcess(Process.Start(psi)!);
    }

    [Fact]
    public async Task Serve_says_when_ready_serves_a_stream_and_stops_cleanly_on_SIGTERM()
    {
        await using var nats = await NatsServer.StartAsync();
        using var child = Run("--nats", nats.Url, "--subject-prefix", "cli.test", "--latent-height", "8", "--latent-width", "8");
        var serve = child.Process;
        var stdout = new StringBuilder();
        var ready = new TaskCompletionSource();
        serve.OutputDataReceived += (_, e) =>
        {
            if (e.Data is null) return;
            lock (stdout) stdout.AppendLine(e.Data);
            if (e.Data.StartsWith("serving on", StringComparison.Ordinal)) ready.TrySetResult();
        };
        var stderr = serve.StandardError.ReadToEndAsync();
        serve.BeginOutputReadLine();
        await ready.Task.WaitAsync(TimeSpan.FromSeconds(90));
        Assert.Contains($"serving on {nats.Url} (api subject cli.test.api.>)", stdout.ToString());

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

        Assert.Equal(0, kill(serve.Id, 15)); // SIGTERM
        Assert.True(serve.WaitForExit(60_000), "serve did not exit after SIGTERM");
        Assert.True(serve.ExitCode == 0, await stderr);
        Assert.Contains("stopped", stdout.ToString());
        Assert.Contains("NOISE", await stderr); // the tiny model says what it is
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
        using var child = Run("--nats", $"nats://127.0.0.1:{port}");
        var serve = child.Process;
        var stdoutTask = serve.StandardOutput.ReadToEndAsync();
        var stderr = await serve.StandardError.ReadToEndAsync();
        Assert.True(serve.WaitForExit(60_000));
        Assert.Equal(1, serve.ExitCode);
        var lines = stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.True(lines.Length == 1, stderr);
        Assert.StartsWith($"error: cannot reach NATS at nats://127.0.0.1:{port}", lines[0]);
        await stdoutTask;
    }

    [Fact]
    public async Task A_bad_subject_prefix_is_refused_before_anything_starts()
    {
        using var child = Run("--nats", "nats://127.0.0.1:1", "--subject-prefix", "bad prefix>");
        var serve = child.Process;
        var stderr = await serve.StandardError.ReadToEndAsync();
        Assert.True(serve.WaitForExit(60_000));
        Assert.Equal(1, serve.ExitCode);
        Assert.Contains("subject-prefix 'bad prefix>'", stderr);
    }
}
