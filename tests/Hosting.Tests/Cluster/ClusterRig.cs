using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json.Nodes;
using NATS.Client.Core;
using NATS.Client.JetStream;
using NATS.Client.Serializers;
using SelfForcing.Hosting.Tests.Serving;

namespace SelfForcing.Hosting.Tests.Cluster;

/// <summary>
/// A real nats-server and several <c>selfforcing serve</c> processes forming an Akka cluster on loopback. The first
/// node is the seed and has the api role; the others join it. Failure detection and the split-brain resolver are
/// tuned short (a file given with --config) so a killed node is downed in seconds.
/// </summary>
public sealed class ClusterRig : IAsyncDisposable
{
    [DllImport("libc", SetLastError = true)]
    private static extern int kill(int pid, int sig);

    private static readonly NatsRawSerializer<byte[]> Raw = NatsRawSerializer<byte[]>.Default;
    private readonly string _configPath;
    private readonly string _extraHocon;

    public NatsServer Nats { get; }
    public NatsConnection Client { get; }
    public int SeedPort { get; }
    public string Prefix { get; } = "c" + Guid.NewGuid().ToString("N")[..8];
    public List<(string Roles, int Port, ServeProcess Process)> Nodes { get; } = new();

    private ClusterRig(NatsServer nats, NatsConnection client, int seedPort, string configPath, string extraHocon)
    {
        Nats = nats; Client = client; SeedPort = seedPort; _configPath = configPath; _extraHocon = extraHocon;
    }

    public static async Task<ClusterRig> StartAsync(string apiRoles, string extraHocon = "", params string[] workerRoles)
    {
        var nats = await NatsServer.StartAsync();
        var client = new NatsConnection(new NatsOpts { Url = nats.Url });
        await client.ConnectAsync();
        string config = Path.Combine(Directory.CreateTempSubdirectory("sf-cluster-").FullName, "test.conf");
        await File.WriteAllTextAsync(config, """
            akka.cluster.split-brain-resolver.stable-after = 2s
            akka.cluster.failure-detector { heartbeat-interval = 250ms, acceptable-heartbeat-pause = 1500ms }
            selfforcing.pipeline.backoff-min = 5ms
            """ + "\n" + extraHocon);
        var rig = new ClusterRig(nats, client, NatsServer.FreePort(), config, extraHocon);
        await rig.AddNodeAsync(apiRoles, rig.SeedPort);
        foreach (var roles in workerRoles) await rig.AddNodeAsync(roles);
        return rig;
    }

    public string Seed => $"akka.tcp://selfforcing@127.0.0.1:{SeedPort}";

    /// <summary>Starts a node and waits for its ready line (it has joined the cluster).</summary>
    public async Task<ServeProcess> AddNodeAsync(string roles, int? port = null)
    {
        int p = port ?? NatsServer.FreePort();
        var process = ServeProcess.Start("--nats", Nats.Url, "--subject-prefix", Prefix, "--config", _configPath, "--roles", roles,
            "--seed-nodes", Seed, "--cluster-port", p.ToString(), "--latent-height", "8", "--latent-width", "8");
        Nodes.Add((roles, p, process));
        try { await process.WaitForLineAsync("cluster node ", TimeSpan.FromSeconds(90)); }
        catch (TimeoutException)
        {
            process.Dispose();
            throw new TimeoutException($"node {roles} did not join: {process.Stdout} {await process.Stderr}");
        }
        return process;
    }

    public void KillNode(int port)
    {
        var node = Nodes.Single(n => n.Port == port);
        Assert.Equal(0, kill(node.Process.Process.Id, 9)); // SIGKILL: no goodbye to the cluster
        node.Process.WaitForExit(TimeSpan.FromSeconds(10));
    }

    public async Task<JsonObject> RequestAsync(string verb, string json)
    {
        var reply = await Client.RequestAsync<byte[], byte[]>($"{Prefix}.api.{verb}", Encoding.UTF8.GetBytes(json), requestSerializer: Raw,
            replySerializer: Raw, replyOpts: new NatsSubOpts { Timeout = TimeSpan.FromSeconds(30) });
        return JsonNode.Parse(reply.Data!)!.AsObject();
    }

    /// <summary>Starts a stream, retrying while the api node has not yet found the endpoints it needs (or is at capacity).</summary>
    public async Task<string> StartStreamAsync(string json, TimeSpan? patience = null)
    {
        var deadline = DateTime.UtcNow + (patience ?? TimeSpan.FromSeconds(60));
        while (true)
        {
            var reply = await RequestAsync("start", json);
            if (!reply.ContainsKey("error")) return (string)reply["stream"]!;
            if (DateTime.UtcNow > deadline) throw new TimeoutException("the stream was never admitted: " + reply.ToJsonString());
            await Task.Delay(250);
        }
    }

    /// <summary>The cluster port of the node serving <paramref name="role"/> for a live stream.</summary>
    public async Task<int> NodeOfAsync(string stream, string role)
    {
        var list = await RequestAsync("list", "{}");
        var item = list["streams"]!.AsArray().Single(s => (string)s!["stream"]! == stream)!;
        string address = (string)item["nodes"]![role]!;
        return int.Parse(address[(address.LastIndexOf(':') + 1)..]);
    }

    public string StreamName => Prefix.ToUpperInvariant() + "_STREAMS";

    /// <summary>The record of a subject, read until <paramref name="complete"/> holds.</summary>
    public async Task<List<INatsJSMsg<byte[]>>> RecordAsync(string subject, Func<List<INatsJSMsg<byte[]>>, bool> complete, TimeSpan? timeout = null)
    {
        var js = new NatsJSContext(Client);
        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(120));
        var consumer = await js.CreateOrderedConsumerAsync(StreamName, cancellationToken: cts.Token);
        var messages = new List<INatsJSMsg<byte[]>>();
        await foreach (var m in consumer.ConsumeAsync(Raw, cancellationToken: cts.Token))
        {
            if (m.Subject == subject) messages.Add(m);
            if (m.Metadata?.NumPending == 0 && complete(messages)) break;
        }
        return messages;
    }

    public async Task<List<JsonObject>> EventsUntilAsync(string stream, Func<List<JsonObject>, bool> done, TimeSpan? timeout = null) =>
        (await RecordAsync($"{Prefix}.streams.{stream}.events", l => done(l.Select(Parse).ToList()), timeout)).Select(Parse).ToList();

    public Task<List<JsonObject>> EventsAsync(string stream, TimeSpan? timeout = null) =>
        EventsUntilAsync(stream, l => l.Count > 0 && (string?)l[^1]["type"] is "completed" or "cancelled" or "failed", timeout);

    public async Task<List<byte[]>> VideoAsync(string stream, int messages) =>
        (await RecordAsync($"{Prefix}.streams.{stream}.video", l => l.Count >= messages)).Select(m => m.Data!).ToList();

    public static JsonObject Parse(INatsJSMsg<byte[]> m) => JsonNode.Parse(m.Data!)!.AsObject();

    public async ValueTask DisposeAsync()
    {
        foreach (var (_, _, p) in Nodes.AsEnumerable().Reverse())
        {
            if (!p.Process.HasExited) { try { p.Terminate(); } catch (Xunit.Sdk.XunitException) { } }
        }
        foreach (var (_, _, p) in Nodes)
        {
            p.WaitForExit(TimeSpan.FromSeconds(15));
            p.Dispose();
        }
        await Client.DisposeAsync();
        await Nats.DisposeAsync();
        File.Delete(_configPath);
    }
}
