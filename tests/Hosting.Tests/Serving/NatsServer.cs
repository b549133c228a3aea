using System.Diagnostics;
using SelfForcing.Hosting.Bench;

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

    public static int FreePort() => LocalNatsServer.FreePort();

    private async Task StartProcessAsync() => _process = await LocalNatsServer.StartProcessAsync(Port, StoreDir);

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
