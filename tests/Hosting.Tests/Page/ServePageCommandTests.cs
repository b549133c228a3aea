using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Text;
using SelfForcing.Hosting.Tests.Serving;

namespace SelfForcing.Hosting.Tests.Page;

/// <summary><c>selfforcing serve --http</c> as a user runs it: the URL printed when ready, loopback unless asked otherwise.</summary>
public class ServePageCommandTests
{
    [Fact]
    public async Task Serve_prints_the_page_url_when_ready_and_the_page_answers_there()
    {
        await using var nats = await NatsServer.StartAsync();
        int port = NatsServer.FreePort();
        using var serve = ServeProcess.Start("--nats", nats.Url, "--http", $"127.0.0.1:{port}", "--latent-height", "8", "--latent-width", "8");
        await serve.WaitForLineAsync("page on", TimeSpan.FromSeconds(90));
        Assert.Contains($"page on http://127.0.0.1:{port}/", serve.Stdout);
        using var http = new HttpClient();
        Assert.Contains("<title>Self Forcing</title>", await http.GetStringAsync($"http://127.0.0.1:{port}/"));
        serve.Terminate();
        Assert.True(serve.WaitForExit(TimeSpan.FromSeconds(60)), "serve did not exit after SIGTERM");
        Assert.True(serve.ExitCode == 0, await serve.Stderr);
        Assert.DoesNotContain("warning", await serve.Stderr);
    }

    [Fact]
    public async Task A_non_loopback_address_without_the_flag_is_refused_before_anything_starts()
    {
        using var serve = ServeProcess.Start("--nats", "nats://127.0.0.1:1", "--http", "0.0.0.0:8080");
        var stderr = await serve.Stderr;
        Assert.True(serve.WaitForExit(TimeSpan.FromSeconds(60)));
        Assert.Equal(1, serve.ExitCode);
        Assert.Contains("needs --http-allow-remote", stderr);
    }

    [Fact]
    public async Task Allowing_remote_viewers_prints_a_warning()
    {
        // NATS is unreachable, so serve stops right after the settings: enough to see the warning.
        using var serve = ServeProcess.Start("--nats", "nats://127.0.0.1:1", "--http", "0.0.0.0:8080", "--http-allow-remote");
        var stderr = await serve.Stderr;
        Assert.True(serve.WaitForExit(TimeSpan.FromSeconds(60)));
        Assert.StartsWith("warning: the page listens on 0.0.0.0:8080, reachable from other machines", stderr);
    }

    [Fact]
    public async Task A_port_in_use_is_one_line_and_exit_1()
    {
        await using var nats = await NatsServer.StartAsync();
        using var taken = new TcpListener(IPAddress.Loopback, 0);
        taken.Start();
        int port = ((IPEndPoint)taken.LocalEndpoint).Port;
        using var serve = ServeProcess.Start("--nats", nats.Url, "--http", $"127.0.0.1:{port}", "--latent-height", "8", "--latent-width", "8");
        var stderr = await serve.Stderr;
        Assert.True(serve.WaitForExit(TimeSpan.FromSeconds(90)));
        Assert.Equal(1, serve.ExitCode);
        Assert.Contains($"error: cannot serve the page on 127.0.0.1:{port}", stderr);
        Assert.DoesNotContain("page on", serve.Stdout);
    }
}
