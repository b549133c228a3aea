using Akka.Actor;
using Akka.Configuration;
using NATS.Client.Core;
using SelfForcing.Actors;
using SelfForcing.Actors.Cluster;
using SelfForcing.Actors.Streams;
using SelfForcing.Actors.Engines;
using SelfForcing.Actors.Faults;
using SelfForcing.Hosting.Page;

namespace SelfForcing.Hosting.Serving;

/// <summary>
/// <c>selfforcing serve</c> as an object: the actor pipeline, one NATS connection (reconnecting forever), the JetStream
/// record and the API. Tests run it in-process; the CLI wraps it with signals and a ready line.
/// </summary>
public sealed class ServeHost : IAsyncDisposable
{
    private readonly ActorSystemHost _system;
    private readonly PipelineEngines _engines;
    private readonly NatsConnection? _nats;
    private readonly CancellationTokenSource _stop;
    private readonly Task _api;
    private readonly NatsApiService? _apiService;
    private readonly SelfForcingPipeline? _pipeline;
    private bool _stopped;
    private PageServer? _page;

    /// <summary>The NATS API (a node with the api role only).</summary>
    public NatsApiService Api => _apiService ?? throw new InvalidOperationException("this node has no api role");
    public ServeSettings Settings { get; }
    public ClusterSettings Cluster { get; }
    /// <summary>The pipeline's API (a node with the api role only).</summary>
    public SelfForcingPipeline Pipeline => _pipeline ?? throw new InvalidOperationException("this node has no api role");
    /// <summary>This node's cluster address (<c>akka.tcp://selfforcing@host:port</c>), or null for a single process.</summary>
    public string? NodeAddress { get; }
    /// <summary>The page's address (<c>http://127.0.0.1:8080/</c>), or null when <see cref="ServeSettings.Http"/> is empty.</summary>
    public string? PageUrl => _page?.Url;

    private ServeHost(ActorSystemHost system, PipelineEngines engines, NatsConnection? nats, NatsApiService? api, ServeSettings settings, ClusterSettings cluster,
        SelfForcingPipeline? pipeline, CancellationTokenSource stop, Task apiLoop, string? nodeAddress)
    {
        _system = system; _engines = engines; _nats = nats; _apiService = api; Settings = settings; Cluster = cluster; _pipeline = pipeline; _stop = stop;
        _api = apiLoop; NodeAddress = nodeAddress;
    }

    /// <param name="buildEngines">Called once NATS is reached (a down server is reported before minutes of loading);
    /// the engines are owned by the host from then on.</param>
    /// <param name="latentHeight">Latent size of every stream (null: the HOCON default).</param>
    public static async Task<ServeHost> StartAsync(Config hocon, ServeSettings settings, Func<PipelineEngines> buildEngines, string defaultDecoder,
        int? latentHeight, int? latentWidth, TextWriter log, FaultInjector? faults = null, CancellationToken ct = default)
    {
        var pipelineSettings = PipelineSettings.FromConfig(hocon);
        var cluster = ClusterSettings.FromConfig(hocon);
        if (!cluster.Clustered && cluster.Roles.Count != NodeRoles.All.Count)
            throw new ArgumentException("a node with only some roles needs seed nodes to find the others (--seed-nodes)");
        bool api = cluster.Roles.Contains(NodeRole.Api);
        NatsConnection? nats = api ? new NatsConnection(new NatsOpts
        {
            Url = settings.NatsUrl,
            Name = "selfforcing-serve",
            // A restarted nats-server is back within seconds; keep trying for as long as the host lives.
            MaxReconnectRetry = -1,
            ReconnectWaitMin = TimeSpan.FromMilliseconds(100),
            ReconnectWaitMax = TimeSpan.FromSeconds(2),
            ConnectTimeout = TimeSpan.FromSeconds(3),
        }) : null;
        ActorSystemHost? system = null;
        PipelineEngines? engines = null;
        try
        {
            JetStreamRecord? record = null;
            if (nats is not null)
            {
                try { await nats.ConnectAsync(); }
                catch (NatsException e)
                {
                    throw new InvalidOperationException($"cannot reach NATS at {settings.NatsUrl}: {e.GetBaseException().Message}", e);
                }
                record = await JetStreamRecord.OpenAsync(nats, settings, new ApiSubjects(settings.SubjectPrefix), ct);
            }
            engines = buildEngines();
            faults ??= FaultInjector.FromConfig(hocon.GetConfig("selfforcing.fault-injection"));
            SelfForcingPipeline? pipeline = null;
            var nodeEngines = engines;
            system = await ActorSystemHost.StartAsync(ClusterSettings.SystemName, cluster.AkkaConfig().WithFallback(hocon), (actors, registry) =>
            {
                pipeline = cluster.Clustered
                    ? SelfForcingNode.Start(actors, cluster.Roles, pipelineSettings, nodeEngines, faults)
                    : SelfForcingPipeline.Start(actors, pipelineSettings, nodeEngines, faults);
                if (pipeline is not null) registry.Register<SelfForcingPipeline>(pipeline.Coordinator);
            }, ct);
            string? nodeAddress = null;
            if (cluster.Clustered)
            {
                nodeAddress = Akka.Cluster.Cluster.Get(system.System).SelfAddress.ToString();
                await JoinedAsync(system.System, ct);
            }
            var stop = new CancellationTokenSource();
            if (nats is null || pipeline is null)
                return new ServeHost(system, engines, nats, null, settings, cluster, pipeline, stop, Task.CompletedTask, nodeAddress);
            var apiService = new NatsApiService(nats, record!, pipeline, settings, engines.Decode.Decoders, defaultDecoder, latentHeight, latentWidth, log);
            var ready = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            var loop = Task.Run(() => apiService.RunAsync(ready, stop.Token));
            if (await Task.WhenAny(ready.Task, loop) == loop) await loop; // the subscription failed: throw why
            var host = new ServeHost(system, engines, nats, apiService, settings, cluster, pipeline, stop, loop, nodeAddress);
            if (settings.Http.Length > 0)
            {
                PageEndpoint.TryParse(settings.Http, out var endpoint); // validated with the settings
                try { host._page = await PageServer.StartAsync(apiService, endpoint, log, ct); }
                catch (Exception e) when (e is IOException or System.Net.Sockets.SocketException)
                {
                    await host.StopAsync();
                    throw new InvalidOperationException($"cannot serve the page on {settings.Http}: {e.Message}", e);
                }
            }
            return host;
        }
        catch
        {
            if (system is not null) await system.DisposeAsync();
            engines?.Dispose();
            if (nats is not null) await nats.DisposeAsync();
            throw;
        }
    }

    /// <summary>Waits until this node is an Up member (its seed nodes answered), so the ready line means it can take work.</summary>
    private static async Task JoinedAsync(ActorSystem system, CancellationToken ct)
    {
        var up = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Akka.Cluster.Cluster.Get(system).RegisterOnMemberUp(() => up.TrySetResult());
        using var reg = ct.Register(() => up.TrySetCanceled(ct));
        await up.Task;
    }

    /// <summary>Cancels every stream (their closing events are published), frees the engines, closes NATS.</summary>
    public async Task StopAsync()
    {
        if (_stopped) return;
        _stopped = true;
        if (_page is not null) await _page.DisposeAsync();
        if (_apiService is not null) await _apiService.StopAsync(TimeSpan.FromSeconds(10));
        _stop.Cancel();
        try { await _api; } catch (OperationCanceledException) { }
        // Coordinated shutdown: a cluster node leaves the cluster first, so the others move on at once instead of downing it.
        await _system.DisposeAsync();
        _engines.Dispose();
        if (_nats is not null) await _nats.DisposeAsync();
    }

    public async ValueTask DisposeAsync() => await StopAsync();
}
