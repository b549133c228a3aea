using System.Net;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using SelfForcing.Hosting.Serving;

namespace SelfForcing.Hosting.Page;

/// <summary>
/// The page: Kestrel in the serve process. <c>GET /</c> and its assets (embedded, no CDN, no build step),
/// <c>POST /api/start|cancel|prompt|list</c> forwarded to the same <see cref="NatsApiService.ExecuteAsync"/> the NATS API
/// uses (same validation, same errors), <c>GET /api/info</c>, and <c>/api/streams/{id}/live</c>, a WebSocket
/// <see cref="StreamRelay"/> of the stream's record.
/// </summary>
public sealed class PageServer : IAsyncDisposable
{
    private static readonly string[] Verbs = ["start", "cancel", "prompt", "list"];
    private readonly WebApplication _app;
    private readonly CancellationTokenSource _stopping = new();

    public string Url { get; private set; } = "";

    private PageServer(WebApplication app) => _app = app;

    public static async Task<PageServer> StartAsync(NatsApiService api, IPEndPoint endpoint, TextWriter log, CancellationToken ct)
    {
        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions());
        builder.WebHost.UseKestrelCore().ConfigureKestrel(k =>
        {
            k.Listen(endpoint);
            k.Limits.MaxRequestBodySize = ApiCodec.MaxRequestBytes;
        });
        builder.Services.AddRoutingCore();
        builder.Services.AddLogging(); // no providers: the host prints its own lines
        var app = builder.Build();
        var page = new PageServer(app);
        var relay = new StreamRelay(api, log);
        app.UseWebSockets(new WebSocketOptions { KeepAliveInterval = TimeSpan.FromSeconds(15) });
        app.MapGet("/", (RequestDelegate)(ctx => Asset(ctx, "index.html")));
        app.MapGet("/assets/{name}", (RequestDelegate)(ctx => Asset(ctx, (string)ctx.Request.RouteValues["name"]!)));
        app.MapGet("/api/info", (RequestDelegate)(ctx => Json(ctx, 200, api.Info())));
        app.MapPost("/api/{verb}", (RequestDelegate)(async ctx =>
        {
            var verb = (string)ctx.Request.RouteValues["verb"]!;
            if (!Verbs.Contains(verb)) { await Json(ctx, 404, ApiCodec.Error($"unknown API request '{verb}' (use {string.Join(", ", Verbs)})", null)); return; }
            byte[] body;
            try { body = await ReadBodyAsync(ctx.Request, ctx.RequestAborted); }
            catch (BadHttpRequestException) { await Json(ctx, 413, ApiCodec.Error($"request body is over the limit of {ApiCodec.MaxRequestBytes} bytes", null)); return; }
            var reply = await api.ExecuteAsync(verb, body, msgpack: false);
            await Json(ctx, reply.ContainsKey("error") ? 400 : 200, reply);
        }));
        app.Map("/api/streams/{id}/live", (RequestDelegate)(async ctx =>
        {
            if (!ctx.WebSockets.IsWebSocketRequest) { await Json(ctx, 400, ApiCodec.Error("this is a WebSocket endpoint", null)); return; }
            using var socket = await ctx.WebSockets.AcceptWebSocketAsync();
            using var both = CancellationTokenSource.CreateLinkedTokenSource(ctx.RequestAborted, page._stopping.Token);
            await relay.RunAsync(socket, (string)ctx.Request.RouteValues["id"]!, ctx.Request.Query["from"].FirstOrDefault(), both.Token);
        }));
        await app.StartAsync(ct);
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        page.Url = address.Replace("[::]", "localhost", StringComparison.Ordinal).TrimEnd('/') + "/";
        return page;
    }

    private static async Task<byte[]> ReadBodyAsync(HttpRequest request, CancellationToken ct)
    {
        using var buffer = new MemoryStream();
        await request.Body.CopyToAsync(buffer, ct);
        return buffer.ToArray();
    }

    private static Task Json(HttpContext ctx, int status, JsonObject body)
    {
        ctx.Response.StatusCode = status;
        ctx.Response.ContentType = "application/json; charset=utf-8";
        ctx.Response.Headers.CacheControl = "no-store";
        return ctx.Response.WriteAsync(body.ToJsonString(), ctx.RequestAborted);
    }

    private static async Task Asset(HttpContext ctx, string name)
    {
        await using var stream = typeof(PageServer).Assembly.GetManifestResourceStream("wwwroot/" + name);
        if (stream is null) { ctx.Response.StatusCode = 404; return; }
        ctx.Response.ContentType = Path.GetExtension(name) switch
        {
            ".html" => "text/html; charset=utf-8", ".js" => "text/javascript; charset=utf-8", ".css" => "text/css; charset=utf-8",
            _ => "application/octet-stream",
        };
        ctx.Response.Headers.CacheControl = "no-cache";
        await stream.CopyToAsync(ctx.Response.Body, ctx.RequestAborted);
    }

    public async ValueTask DisposeAsync()
    {
        _stopping.Cancel(); // relays close their sockets first, or Kestrel waits for them
        using var grace = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        await _app.StopAsync(grace.Token);
        await _app.DisposeAsync();
        _stopping.Dispose();
    }
}
