using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace SelfForcing.Hosting.Bench;

/// <summary>
/// A nats-server with JetStream on a free loopback port and a temporary store, for the publish benchmark when no
/// server is given: started from PATH, killed and its store deleted on dispose. The tests' server fixture starts its
/// processes with <see cref="StartProcessAsync"/> too.
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
        int port = FreePort();
        var store = Directory.CreateTempSubdirectory("sf-bench-nats-").FullName;
        try
        {
            return new LocalNatsServer(await StartProcessAsync(port, store, ct), store, $"nats://127.0.0.1:{port}");
        }
        catch (InvalidOperationException e)
        {
            Directory.Delete(store, true);
            throw new InvalidOperationException($"{e.Message}; or pass --nats URL", e);
        }
    }

    /// <summary>A loopback port nothing listens on at the time of the call.</summary>
    public static int FreePort()
    {
        using var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        return ((IPEndPoint)probe.LocalEndpoint).Port;
    }

    /// <summary>nats-server -js on 127.0.0.1:<paramref name="port"/> with its store in <paramref name="store"/>, once it accepts connections.</summary>
    public static async Task<Process> StartProcessAsync(int port, string store, CancellationToken ct = default)
    {
        var psi = new ProcessStartInfo("nats-server", ["-a", "127.0.0.1", "-p", port.ToString(System.Globalization.CultureInfo.InvariantCulture), "-js", "-sd", store])
        {
            RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
        };
        Process process;
        try { process = Process.Start(psi)!; }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new InvalidOperationException("nats-server is not on PATH (Debian: apt-get install nats-server)", e);
        }
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var deadline = DateTime.UtcNow.AddSeconds(15);
        while (true)
        {
            try
            {
                using var client = new TcpClient();
                await client.ConnectAsync(IPAddress.Loopback, port, ct);
                return process;
            }
            catch (SocketException) when (DateTime.UtcNow < deadline && !process.HasExited) { await Task.Delay(50, ct); }
            catch
            {
                Stop(process);
                throw new InvalidOperationException($"nats-server did not start on port {port}");
            }
        }
    }

    public void Dispose()
    {
        Stop(_process);
        try { Directory.Delete(_store, true); } catch (IOException) { }
    }

    private static void Stop(Process process)
    {
        try
        {
            if (!process.HasExited)
            {
                process.Kill();
                process.WaitForExit();
            }
        }
        catch (InvalidOperationException) { }
        process.Dispose();
    }
}
