using Akka.Actor;
using Akka.Configuration;
using NATS.Client.Core;
using SelfForcing.Actors;
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
    private readonly ActorSystem _system;
    private readonly PipelineEngines _engines;
    private readonly NatsConnection _nats;
    private readonly CancellationTokenSource _stop;
    private readonly Task _api;
    private bool _stopped;
    private PageServer? _page;

    public NatsApiService Api { get; }
    public ServeSettings Settings { get; }
    public SelfForcingPipeline Pipeline { get; }
    /// <summary>The page's address (<c>http://127.0.0.1:8080/</c>), or null when <see cref="ServeSettings.Http"/> is empty.</summary>
    public string? PageUrl => _page?.Url;

    private ServeHost(ActorSystem system, PipelineEngines engines, NatsConnection nats, NatsApiService api, ServeSettings settings,
        SelfForcingPipeline pipeline, CancellationTokenSource stop, Task apiLoop)
    {
        _system = system; _engines = engines; _nats = nats; Api = api; Settings = settings; Pipeline = pipeline; _stop = stop; _api = apiLoop;
    }

    /// <param name="buildEngines">Called once NATS is reached (a down server is reported before minutes of loading);
    /// the engines are owned by the host from then on.</param>
    /// <param name="latentHeight">Latent size of every stream (null: the HOCON default).</param>
    public static async Task<ServeHost> StartAsync(Config hocon, ServeSettings settings, Func<PipelineEngines> buildEngines, string defaultDecoder,
        int? latentHeight, int? latentWidth, TextWriter log, FaultInjector? faults = null, CancellationToken ct = default)
    {
        var pipelineSettings = PipelineSettings.FromConfig(hocon);
        var nats = new NatsConnection(new NatsOpts
        {
            Url = settings.NatsUrl,
            Name = "selfforcing-serve",
            // A restarted nats-server is back within seconds; keep trying for as long as the host lives.
            MaxReconnectRetry = -1,
            ReconnectWaitMin = TimeSpan.FromMilliseconds(100),
            ReconnectWaitMax = TimeSpan.FromSeconds(2),
            ConnectTimeout = TimeSpan.FromSeconds(3),
        });
        ActorSystem? system = null;
        PipelineEngines? engines = null;
        try
        {
            try { await nats.ConnectAsync(); }
            catch (NatsException e)
            {
                throw new InvalidOperationException($"cannot reach NATS at {settings.NatsUrl}: {e.GetBaseException().Message}", e);
            }
            var record = await JetStreamRecord.OpenAsync(nats, settings, new ApiSubjects(settings.SubjectPrefix), ct);
            engines = buildEngines();
            system = ActorSystem.Create("selfforcing", hocon);
            var pipeline = SelfForcingPipeline.Start(system, pipelineSettings, engines, faults ?? FaultInjector.FromConfig(hocon.GetConfig("selfforcing.fault-injection")));
            var api = new NatsApiService(nats, record, pipeline, settings, engines.Decode.Decoders, defaultDecoder, latentHeight, latentWidth, log);
            var ready = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            var stop = new CancellationTokenSource();
            var loop = Task.Run(() => api.RunAsync(ready, stop.Token));
            if (await Task.WhenAny(ready.Task, loop) == loop) await loop; // the subscription failed: throw why
            var host = new ServeHost(system, engines, nats, api, settings, pipeline, stop, loop);
            if (settings.Http.Length > 0)
            {
                PageEndpoint.TryParse(settings.Http, out var endpoint); // validated with the settings
                try { host._page = await PageServer.StartAsync(api, endpoint, log, ct); }
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
            if (system is not null) await system.Terminate();
            engines?.Dispose();
            await nats.DisposeAsync();
            throw;
        }
    }

    /// <summary>Cancels every stream (their closing events are published), frees the engines, closes NATS.</summary>
    public async Task StopAsync()
    {
        if (_stopped) return;
        _stopped = true;
        if (_page is not null) await _page.DisposeAsync();
        await Api.StopAsync(TimeSpan.FromSeconds(10));
        _stop.Cancel();
        try { await _api; } catch (OperationCanceledException) { }
        await _system.Terminate();
        _engines.Dispose();
        await _nats.DisposeAsync();
    }

    public async ValueTask DisposeAsync() => await StopAsync();
}
