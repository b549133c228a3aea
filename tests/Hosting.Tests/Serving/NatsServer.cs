using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace SelfForcing.Hosting.Tests.Serving;

/// <summary>A real nats-server with JetStream on a free loopback port and its own store; killed and restarted on demand.</summary>
public sealed class NatsServer : IAsyncDisposable
{
    private Process? _process;

    public int Port { get; }
    public string StoreDir { get; }
    public string Url => $"nats://127.0.0.1:{Port}";

    private NatsServer(int port, string storeDir)
    {
        Port = port;
        StoreDir = storeDir;
    }

    public static async Task<NatsServer> StartAsync()
    {
        var server = new NatsServer(FreePort(), Directory.CreateTempSubdirectory("sf-nats-").FullName);
        await server.StartProcessAsync();
        return server;
    }

    public static int FreePort()
    {
        using var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        return ((IPEndPoint)l.LocalEndpoint).Port;
    }

    private async Task StartProcessAsync()
    {
        var psi = new ProcessStartInfo("nats-server", ["-a", "127.0.0.1", "-p", Port.ToString(), "-js", "-sd", StoreDir])
        {
            RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
        };
        try { _process = Process.Start(psi)!; }
        catch (System.ComponentModel.Win32Exception e) { throw new InvalidOperationException("nats-server is not installed (Debian: apt-get install nats-server)", e); }
        _process.OutputDataReceived += (_, _) => { };
        _process.ErrorDataReceived += (_, _) => { };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
        var deadline = DateTime.UtcNow.AddSeconds(15);
        while (true)
        {
            try
            {
                using var c = new TcpClient();
                await c.ConnectAsync(IPAddress.Loopback, Port);
                return;
            }
            catch (SocketException) when (DateTime.UtcNow < deadline && !_process.HasExited) { await Task.Delay(50); }
        }
    }

    /// <summary>Kills the process (no clean shutdown) and starts a new one on the same port and store.</summary>
    public async Task RestartAsync(TimeSpan downtime)
    {
        Kill();
        await Task.Delay(downtime);
        await StartProcessAsync();
    }

    public void Kill()
    {
        if (_process is { HasExited: false })
        {
            _process.Kill();
            _process.WaitForExit();
        }
        _process?.Dispose();
        _process = null;
    }

    public ValueTask DisposeAsync()
    {
        Kill();
        try { Directory.Delete(StoreDir, true); } catch (IOException) { }
        return ValueTask.CompletedTask;
    }
}
