using Akka.Actor;
using Akka.Configuration;
using Akka.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace SelfForcing.Hosting.Serving;

/// <summary>
/// The actor system of <c>selfforcing serve</c>, built and run by Akka.Hosting inside a generic host: configuration
/// from the HOCON chain (a flag over the user's file over the embedded defaults), the node's actors started by
/// <c>WithActors</c> and registered for lookup, and shutdown through the host. Signals stay with the serve command,
/// which must publish every stream's closing event before the system goes.
/// </summary>
public sealed class ActorSystemHost : IAsyncDisposable
{
    private sealed class QuietLifetime : IHostLifetime
    {
        public Task WaitForStartAsync(CancellationToken ct) => Task.CompletedTask;
        public Task StopAsync(CancellationToken ct) => Task.CompletedTask;
    }

    private readonly IHost _host;

    public ActorSystem System { get; }
    public ActorRegistry Registry { get; }

    private ActorSystemHost(IHost host)
    {
        _host = host;
        System = host.Services.GetRequiredService<ActorSystem>();
        Registry = host.Services.GetRequiredService<ActorRegistry>();
    }

    /// <param name="startActors">Starts the node's actors once the system is up (registering what others look up).</param>
    public static async Task<ActorSystemHost> StartAsync(string name, Config config, Action<ActorSystem, IActorRegistry> startActors, CancellationToken ct)
    {
        var builder = new HostBuilder().ConfigureServices(services =>
        {
            services.AddSingleton<IHostLifetime, QuietLifetime>();
            services.AddAkka(name, akka =>
            {
                akka.AddHocon(config, HoconAddMode.Prepend);
                akka.WithActors((system, registry) => startActors(system, registry));
            });
        });
        var host = builder.Build();
        try
        {
            await host.StartAsync(ct);
        }
        catch
        {
            host.Dispose();
            throw;
        }
        return new ActorSystemHost(host);
    }

    public async ValueTask DisposeAsync()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await _host.StopAsync(timeout.Token);
        _host.Dispose();
    }
}
