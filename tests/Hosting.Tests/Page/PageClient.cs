using System.Buffers.Binary;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json.Nodes;
using SelfForcing.Hosting.Tests.Serving;

namespace SelfForcing.Hosting.Tests.Page;

/// <summary>One message of the page's relay: its header and payload.</summary>
public sealed record RelayMessage(JsonObject Header, byte[] Data)
{
    public ulong Seq => (ulong)Header["seq"]!;
    public bool IsVideo => (string)Header["subject"]! == "video";
    public string? Kind => (string?)Header["kind"];
    public JsonObject Event => JsonNode.Parse(Data)!.AsObject();
}

/// <summary>An HTTP and WebSocket client of a <see cref="ServeFixture"/> started with the page on a free port.</summary>
public static class PageClient
{
    /// <summary>A fixture whose host also serves the page on 127.0.0.1 at a free port.</summary>
    public static Task<ServeFixture> StartAsync(string? hocon = null) =>
        ServeFixture.StartAsync("selfforcing.serve.http = \"127.0.0.1:0\"\n" + hocon);

    public static async Task<(int Status, JsonObject Body)> PostAsync(ServeFixture f, string verb, string json)
    {
        using var http = new HttpClient { BaseAddress = new Uri(f.Host.PageUrl!), Timeout = TimeSpan.FromSeconds(30) };
        var response = await http.PostAsync($"api/{verb}", new StringContent(json, Encoding.UTF8, "application/json"));
        return ((int)response.StatusCode, JsonNode.Parse(await response.Content.ReadAsStringAsync())!.AsObject());
    }

    public static async Task<ClientWebSocket> ConnectAsync(ServeFixture f, string stream, string? from = null)
    {
        var ws = new ClientWebSocket();
        var url = new Uri(new Uri(f.Host.PageUrl!.Replace("http://", "ws://")), $"api/streams/{stream}/live" + (from is null ? "" : $"?from={from}"));
        await ws.ConnectAsync(url, CancellationToken.None);
        return ws;
    }

    /// <summary>The next relay message, or null when the server closed the socket; a text message is returned as an event-only header.</summary>
    public static async Task<RelayMessage?> ReceiveAsync(ClientWebSocket ws, TimeSpan? timeout = null)
    {
        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(60));
        using var buffer = new MemoryStream();
        var chunk = new byte[64 * 1024];
        while (true)
        {
            var r = await ws.ReceiveAsync(chunk, cts.Token);
            if (r.MessageType == WebSocketMessageType.Close) return null;
            buffer.Write(chunk, 0, r.Count);
            if (!r.EndOfMessage) continue;
            var bytes = buffer.ToArray();
            if (r.MessageType == WebSocketMessageType.Text)
                return new RelayMessage(new JsonObject { ["seq"] = 0, ["subject"] = "text" }, bytes);
            int length = BinaryPrimitives.ReadInt32BigEndian(bytes);
            var header = JsonNode.Parse(bytes.AsSpan(4, length))!.AsObject();
            return new RelayMessage(header, bytes[(4 + length)..]);
        }
    }

    /// <summary>Every relay message until the server closes the socket (after the stream's closing event).</summary>
    public static async Task<List<RelayMessage>> ReceiveAllAsync(ClientWebSocket ws, TimeSpan? timeout = null)
    {
        var all = new List<RelayMessage>();
        while (await ReceiveAsync(ws, timeout) is { } m) all.Add(m);
        return all;
    }
}
