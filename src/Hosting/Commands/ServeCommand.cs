using System.CommandLine;
using System.Runtime.InteropServices;
using SelfForcing.Actors;
using SelfForcing.Actors.Cluster;
using SelfForcing.Actors.Streams;
using SelfForcing.Hosting.Output;
using SelfForcing.Hosting.Page;
using SelfForcing.Hosting.Serving;

namespace SelfForcing.Hosting.Commands;

/// <summary><c>selfforcing serve</c>: the engine behind a NATS request/reply API, publishing live streams.</summary>
public static class ServeCommand
{
    public sealed record ServeOptions(string? NatsUrl, string? ConfigPath, string? SubjectPrefix, WeightOptions Weights, string? Decoder,
        int? LatentHeight, int? LatentWidth, int? MetricsPort, bool UnloadTextEncoder = false,
        string? Http = null, bool HttpAllowRemote = false, string? Roles = null, string? SeedNodes = null, string? ClusterHost = null, int? ClusterPort = null);

    public static Command Create()
    {
        var nats = new Option<string?>("--nats") { Description = "NATS server URL (default nats://127.0.0.1:4222, or selfforcing.serve.nats-url)" };
        var config = new Option<string?>("--config") { Description = "HOCON file (devices, pipeline, serve); see hocon/selfforcing.conf" };
        var prefix = new Option<string?>("--subject-prefix") { Description = "first token of every subject (default selfforcing)" };
        var weights = new WeightCliOptions();
        var decoder = new Option<string?>("--decoder") { Description = "default decoder of a start request that names none (default: vae with weights, world for the world model, else preview)" };
        var latentH = new Option<int?>("--latent-height") { Description = "latent height of every stream (default 60 with weights, 16 for the tiny models, 8 for a world model of VAE latents)" };
        var latentW = new Option<int?>("--latent-width") { Description = "latent width of every stream (default 104 with weights, 16 for the tiny models, 8 for a world model of VAE latents)" };
        var metricsPort = new Option<int?>("--metrics-port") { Description = "serve Prometheus metrics on http://localhost:PORT/metrics" };
        var http = new Option<string?>("--http") { Description = "serve the page on HOST:PORT, e.g. 127.0.0.1:8080 (HOCON selfforcing.serve.http)" };
        var httpRemote = new Option<bool>("--http-allow-remote") { Description = "allow --http on an address other than loopback (the page has no login)" };
        var roles = new Option<string?>("--roles") { Description = "this node's roles, e.g. denoiser,decoder (api, text-encoder, denoiser, decoder, publisher; default all)" };
        var seeds = new Option<string?>("--seed-nodes") { Description = "cluster seed nodes, e.g. akka.tcp://selfforcing@127.0.0.1:4053 (comma-separated); none = one process" };
        var clusterHost = new Option<string?>("--cluster-host") { Description = "address this node listens on for the others (default 127.0.0.1)" };
        var clusterPort = new Option<int?>("--cluster-port") { Description = "port this node listens on for the others (default 0 = any free one; a seed needs a fixed one)" };
        var cmd = new Command("serve", "Serve live text-to-video streams over NATS (request/reply API on <prefix>.api.*, video on <prefix>.streams.<id>.video).")
        {
            nats, config, prefix, decoder, latentH, latentW, metricsPort, http, httpRemote, roles, seeds, clusterHost, clusterPort,
        };
        weights.AddTo(cmd);
        cmd.SetAction((parse, ct) => RunAsync(new ServeOptions(parse.GetValue(nats), parse.GetValue(config), parse.GetValue(prefix),
            weights.Read(parse), parse.GetValue(decoder), parse.GetValue(latentH), parse.GetValue(latentW), parse.GetValue(metricsPort),
            parse.GetValue(weights.UnloadTextEncoder), parse.GetValue(http), parse.GetValue(httpRemote), parse.GetValue(roles), parse.GetValue(seeds),
            parse.GetValue(clusterHost), parse.GetValue(clusterPort)), Console.Out, Console.Error, ct));
        return cmd;
    }

    /// <summary>The cluster options as HOCON over the user's file (a flag wins over the file, the file over the defaults).</summary>
    private static Akka.Configuration.Config ClusterOverrides(ServeOptions o)
    {
        static string List(string csv) => "[" + string.Join(", ", csv.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(ClusterSettings.Quote)) + "]";
        var lines = new List<string>();
        if (o.Roles is not null) lines.Add($"selfforcing.cluster.roles = {List(o.Roles)}");
        if (o.SeedNodes is not null) lines.Add($"selfforcing.cluster.seed-nodes = {List(o.SeedNodes)}");
        if (o.ClusterHost is not null) lines.Add($"selfforcing.cluster.hostname = {ClusterSettings.Quote(o.ClusterHost)}");
        if (o.ClusterPort is int port) lines.Add($"selfforcing.cluster.port = {port}");
        return Akka.Configuration.ConfigurationFactory.ParseString(string.Join("\n", lines));
    }

    /// <summary>Runs until <paramref name="ct"/> fires, SIGINT or SIGTERM; then cancels every stream and exits 0.</summary>
    public static async Task<int> RunAsync(ServeOptions o, TextWriter stdout, TextWriter stderr, CancellationToken ct = default)
    {
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
        // Both signals mean "stop cleanly": cancel the streams, publish their closing events, free the caches.
        using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c => { c.Cancel = true; stop.Cancel(); });
        using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, c => { c.Cancel = true; stop.Cancel(); });
        ServeHost? host = null;
        try
        {
            var hocon = ClusterOverrides(o).WithFallback(PipelineHocon.Load(o.ConfigPath));
            var settings = ServeSettings.FromConfig(hocon);
            settings = (settings with
            {
                NatsUrl = o.NatsUrl ?? settings.NatsUrl,
                SubjectPrefix = o.SubjectPrefix ?? settings.SubjectPrefix,
                Http = o.Http ?? settings.Http,
                HttpAllowRemote = o.HttpAllowRemote || settings.HttpAllowRemote,
            }).Validate();
            if (settings.Http.Length > 0 && PageEndpoint.TryParse(settings.Http, out var pageAt) && !System.Net.IPAddress.IsLoopback(pageAt.Address))
                stderr.WriteLine($"warning: the page listens on {settings.Http}, reachable from other machines; it has no login, anyone who reaches it can start and stop streams");
            var pipelineSettings = PipelineSettings.FromConfig(hocon);
            if (o.UnloadTextEncoder) pipelineSettings = pipelineSettings with { UnloadTextEncoderAfterUse = true };
            WeightFiles.Validate(o.Weights); // before anything heavy loads
            using var metrics = o.MetricsPort is int port ? new Prometheus.MetricServer("localhost", port).Start() : null;
            int? side = EngineFactory.DefaultLatentSide(o.Weights);
            // Load progress goes to stderr; stdout carries the ready line a supervisor waits for.
            host = await ServeHost.StartAsync(hocon, settings, () => EngineFactory.Build(o.Weights, pipelineSettings, stderr), o.Decoder ?? EngineFactory.DefaultDecoder(o.Weights),
                o.LatentHeight ?? side, o.LatentWidth ?? side, stderr, ct: stop.Token);
            string roleNames = string.Join(", ", host.Cluster.Roles.Select(NodeRoles.Name));
            if (host.NodeAddress is { } node) stdout.WriteLine($"cluster node {node} up with roles {roleNames}");
            if (host.Cluster.Roles.Contains(NodeRole.Api)) stdout.WriteLine($"serving on {settings.NatsUrl} (api subject {host.Api.Subjects.Api})");
            if (host.PageUrl is { } url) stdout.WriteLine($"page on {url}");
            stdout.Flush();
            try { await Task.Delay(Timeout.Infinite, stop.Token); }
            catch (OperationCanceledException) { }
            stdout.WriteLine("stopping: cancelling streams");
            await host.StopAsync();
            stdout.WriteLine("stopped");
            return 0;
        }
        catch (WeightFilesException e)
        {
            foreach (var problem in e.Problems) stderr.WriteLine($"error: {problem}");
            return 1;
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException or IOException or NotSupportedException or InvalidDataException
                                     or Model.Checkpoints.CheckpointFormatException or OperationCanceledException)
        {
            if (host is not null) await host.StopAsync();
            stderr.WriteLine($"error: {e.Message.ReplaceLineEndings(" ")}");
            return 1;
        }
    }
}
