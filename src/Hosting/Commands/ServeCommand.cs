using System.CommandLine;
using System.Runtime.InteropServices;
using SelfForcing.Actors;
using SelfForcing.Hosting.Output;
using SelfForcing.Hosting.Page;
using SelfForcing.Hosting.Serving;

namespace SelfForcing.Hosting.Commands;

/// <summary><c>selfforcing serve</c>: the engine behind a NATS request/reply API, publishing live streams.</summary>
public static class ServeCommand
{
    public sealed record ServeOptions(string? NatsUrl, string? ConfigPath, string? SubjectPrefix, WeightOptions Weights, string? Decoder,
        int? LatentHeight, int? LatentWidth, int? MetricsPort, bool UnloadTextEncoder = false,
        string? Http = null, bool HttpAllowRemote = false);

    public static Command Create()
    {
        var nats = new Option<string?>("--nats") { Description = "NATS server URL (default nats://127.0.0.1:4222, or selfforcing.serve.nats-url)" };
        var config = new Option<string?>("--config") { Description = "HOCON file (devices, pipeline, serve); see hocon/selfforcing.conf" };
        var prefix = new Option<string?>("--subject-prefix") { Description = "first token of every subject (default selfforcing)" };
        var weights = new WeightCliOptions();
        var decoder = new Option<string?>("--decoder") { Description = "default decoder of a start request that names none (default: vae with weights, preview without)" };
        var latentH = new Option<int?>("--latent-height") { Description = "latent height of every stream (default 60 with weights, 16 for the tiny model)" };
        var latentW = new Option<int?>("--latent-width") { Description = "latent width of every stream (default 104 with weights, 16 for the tiny model)" };
        var metricsPort = new Option<int?>("--metrics-port") { Description = "serve Prometheus metrics on http://localhost:PORT/metrics" };
        var http = new Option<string?>("--http") { Description = "serve the page on HOST:PORT, e.g. 127.0.0.1:8080 (HOCON selfforcing.serve.http)" };
        var httpRemote = new Option<bool>("--http-allow-remote") { Description = "allow --http on an address other than loopback (the page has no login)" };
        var cmd = new Command("serve", "Serve live text-to-video streams over NATS (request/reply API on <prefix>.api.*, video on <prefix>.streams.<id>.video).")
        {
            nats, config, prefix, decoder, latentH, latentW, metricsPort, http, httpRemote,
        };
        weights.AddTo(cmd);
        cmd.SetAction((parse, ct) => RunAsync(new ServeOptions(parse.GetValue(nats), parse.GetValue(config), parse.GetValue(prefix),
            weights.Read(parse), parse.GetValue(decoder), parse.GetValue(latentH), parse.GetValue(latentW), parse.GetValue(metricsPort),
            parse.GetValue(weights.UnloadTextEncoder), parse.GetValue(http), parse.GetValue(httpRemote)), Console.Out, Console.Error, ct));
        return cmd;
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
            var hocon = PipelineHocon.Load(o.ConfigPath);
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
            bool tiny = EngineFactory.IsTiny(o.Weights);
            WeightFiles.Validate(o.Weights); // before anything heavy loads
            using var metrics = o.MetricsPort is int port ? new Prometheus.MetricServer("localhost", port).Start() : null;
            // Load progress goes to stderr; stdout carries the ready line a supervisor waits for.
            host = await ServeHost.StartAsync(hocon, settings, () => EngineFactory.Build(o.Weights, pipelineSettings, stderr), o.Decoder ?? (tiny ? "preview" : "vae"),
                o.LatentHeight ?? (tiny ? 16 : null), o.LatentWidth ?? (tiny ? 16 : null), stderr, ct: stop.Token);
            stdout.WriteLine($"serving on {settings.NatsUrl} (api subject {host.Api.Subjects.Api})");
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
