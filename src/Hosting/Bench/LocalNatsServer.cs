using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace SelfForcing.Hosting.Bench;

/// <summary>
/// A nats-server with JetStream on a free loopback port and a temporary store, for the publish benchmark when no
/// server is given: started from PATH, killed and its store deleted on dispose.
/// </summary>
public sealed class LocalNatsServer : IDisposable
{
    private readonly Process _process;
    private readonly string _store;

    public string Url { get; }

    private LocalNatsServer(Process process, string store, string url)
    {
        _process = process;
        _store = store;
        Url = url;
    }

    public static async Task<LocalNatsServer> StartAsync(CancellationToken ct = default)
    {
        int port;
        using (var probe = new TcpListener(IPAddress.Loopback, 0))
        {
            probe.Start();
            port = ((IPEndPoint)probe.LocalEndpoint).Port;
        }
        var store = Directory.CreateTempSubdirectory("sf-bench-nats-").FullName;
        var psi = new ProcessStartInfo("nats-server", ["-a", "127.0.0.1", "-p", port.ToString(System.Globalization.CultureInfo.InvariantCulture), "-js", "-sd", store])
        {
            RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
        };
        Process process;
        try { process = Process.Start(psi)!; }
        catch (System.ComponentModel.Win32Exception e)
        {
            Directory.Delete(store, true);
            throw new InvalidOperationException("nats-server is not on PATH (Debian: apt-get install nats-server), or pass --nats URL", e);
        }
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var server = new LocalNatsServer(process, store, $"nats://127.0.0.1:{port}");
        var deadline = DateTime.UtcNow.AddSeconds(15);
        while (true)
        {
            try
            {
                using var client = new TcpClient();
                await client.ConnectAsync(IPAddress.Loopback, port, ct);
                return server;
            }
            catch (SocketException) when (DateTime.UtcNow < deadline && !process.HasExited) { await Task.Delay(50, ct); }
            catch
            {
                server.Dispose();
                throw new InvalidOperationException($"nats-server did not start on port {port}");
            }
        }
    }

    public void Dispose()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill();
                _process.WaitForExit();
            }
        }
        catch (InvalidOperationException) { }
        _process.Dispose();
        try { Directory.Delete(_store, true); } catch (IOException) { }
    }
}
