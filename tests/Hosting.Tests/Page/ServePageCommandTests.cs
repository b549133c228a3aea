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
    [DllImport("libc", SetLastError = true)]
    private static extern int kill(int pid, int sig);

    private static Process Start(params string[] args)
    {
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { "exec", Path.Combine(AppContext.BaseDirectory, "selfforcing.dll"), "serve" }.Concat(args)) psi.ArgumentList.Add(a);
        return Process.Start(psi)!;
    }

    [Fact]
    public async Task Serve_prints_the_page_url_when_ready_and_the_page_answers_there()
    {
        await using var nats = await NatsServer.StartAsync();
        int port = NatsServer.FreePort();
        using var serve = Start("--nats", nats.Url, "--http", $"127.0.0.1:{port}", "--latent-height", "8", "--latent-width", "8");
        var stdout = new StringBuilder();
        var ready = new TaskCompletionSource();
        serve.OutputDataReceived += (_, e) =>
        {
            if (e.Data is null) return;
            lock (stdout) stdout.AppendLine(e.Data);
            if (e.Data.StartsWith("page on", StringComparison.Ordinal)) ready.TrySetResult();
        };
        var stderr = serve.StandardError.ReadToEndAsync();
        serve.BeginOutputReadLine();
        await ready.Task.WaitAsync(TimeSpan.FromSeconds(90));
        Assert.Contains($"page on http://127.0.0.1:{port}/", stdout.ToString());
        using var http = new HttpClient();
        Assert.Contains("<title>Self Forcing</title>", await http.GetStringAsync($"http://127.0.0.1:{port}/"));
        Assert.Equal(0, kill(serve.Id, 15)); // SIGTERM
        Assert.True(serve.WaitForExit(60_000), "serve did not exit after SIGTERM");
        Assert.True(serve.ExitCode == 0, await stderr);
        Assert.DoesNotContain("warning", await stderr);
    }

    [Fact]
    public async Task A_non_loopback_address_without_the_flag_is_refused_before_anything_starts()
    {
        using var serve = Start("--nats", "nats://127.0.0.1:1", "--http", "0.0.0.0:8080");
        var stderr = await serve.StandardError.ReadToEndAsync();
        Assert.True(serve.WaitForExit(60_000));
        Assert.Equal(1, serve.ExitCode);
        Assert.Contains("needs --http-allow-remote", stderr);
    }

    [Fact]
    public async Task Allowing_remote_viewers_prints_a_warning()
    {
        // NATS is unreachable, so serve stops right after the settings: enough to see the warning.
        using var serve = Start("--nats", "nats://127.0.0.1:1", "--http", "0.0.0.0:8080", "--http-allow-remote");
        var stderr = await serve.StandardError.ReadToEndAsync();
        Assert.True(serve.WaitForExit(60_000));
        Assert.StartsWith("warning: the page listens on 0.0.0.0:8080, reachable from other machines", stderr);
    }

    [Fact]
    public async Task A_port_in_use_is_one_line_and_exit_1()
    {
        await using var nats = await NatsServer.StartAsync();
        using var taken = new TcpListener(IPAddress.Loopback, 0);
        taken.Start();
        int port = ((IPEndPoint)taken.LocalEndpoint).Port;
        using var serve = Start("--nats", nats.Url, "--http", $"127.0.0.1:{port}", "--latent-height", "8", "--latent-width", "8");
        var stdout = serve.StandardOutput.ReadToEndAsync();
        var stderr = await serve.StandardError.ReadToEndAsync();
        Assert.True(serve.WaitForExit(90_000));
        Assert.Equal(1, serve.ExitCode);
        Assert.Contains($"error: cannot serve the page on 127.0.0.1:{port}", stderr);
        Assert.DoesNotContain("page on", await stdout);
    }
}
