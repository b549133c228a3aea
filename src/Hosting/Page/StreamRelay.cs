using System.Buffers.Binary;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json.Nodes;
using NATS.Client.Core;
using SelfForcing.Hosting.Serving;

namespace SelfForcing.Hosting.Page;

/// <summary>
/// Relays one stream's record (video and events, in record order) to one browser over a WebSocket. The record is
/// the source, not the live subjects: a viewer that joins late or reloads the page gets the stream from its first
/// message (or jumps to the newest segment), and a NATS reconnect only pauses the relay, which continues from the
/// sequence after the last one it delivered. Each WebSocket message is one record message:
/// a 4-byte big-endian length, a JSON header <c>{"seq","subject":"video"|"events","kind","chunk","frames"}</c>, the payload.
/// </summary>
public sealed class StreamRelay(NatsApiService api, TextWriter log)
{
    private static readonly TimeSpan IdleWait = TimeSpan.FromMilliseconds(250);
    /// <summary>How long one message may take to send before the peer counts as gone.</summary>
    private static readonly TimeSpan SendLimit = TimeSpan.FromSeconds(10);
    private readonly RecordReader _reader = new(api.Record.Connection, api.Record.StreamName);
    private NatsConnection Nats => api.Record.Connection;

    /// <param name="from">"start" (default), "live", or a record sequence to resume from.</param>
    public async Task RunAsync(WebSocket socket, string id, string? from, CancellationToken ct)
    {
        using var closed = CancellationTokenSource.CreateLinkedTokenSource(ct);
        _ = WatchForCloseAsync(socket, closed); // the browser never sends; its close (or a reload) ends the relay
        var subjects = api.Subjects;
        string filter = $"{subjects.Prefix}.streams.{id}.>";
        try
        {
            // Wake-ups only: every chunk ends with an event, so the relay need not poll while a chunk is being made.
            await using var wake = await Nats.SubscribeCoreAsync<byte[]>(subjects.Events(id), serializer: NatsRawSerializer<byte[]>.Default, cancellationToken: closed.Token);
            ulong seq = await FirstSequenceAsync(socket, id, from, closed.Token);
            if (seq == 0) return;
            var backoff = TimeSpan.FromMilliseconds(100);
            while (!closed.IsCancellationRequested)
            {
                RecordedMessage? m;
                try { m = await _reader.NextAsync(filter, seq, closed.Token); backoff = TimeSpan.FromMilliseconds(100); }
                catch (Exception e) when (!closed.IsCancellationRequested && e is NatsException or TimeoutException or OperationCanceledException)
                {
                    // NATS or JetStream is away (restart, reconnect): keep the position and try again.
                    await Task.Delay(backoff, closed.Token);
                    backoff = TimeSpan.FromTicks(Math.Min(TimeSpan.FromSeconds(2).Ticks, backoff.Ticks * 2));
                    continue;
                }
                if (m is null)
                {
                    using var idle = CancellationTokenSource.CreateLinkedTokenSource(closed.Token);
                    idle.CancelAfter(IdleWait);
                    try { await wake.Msgs.WaitToReadAsync(idle.Token); while (wake.Msgs.TryRead(out _)) { } }
                    catch (OperationCanceledException) when (!closed.IsCancellationRequested) { }
                    continue;
                }
                await SendAsync(socket, m, subjects);
                seq = m.Seq + 1;
                if (IsClosingEvent(m, subjects.Events(id))) break;
            }
            await CloseAsync(socket, WebSocketCloseStatus.NormalClosure, "stream ended");
        }
        catch (OperationCanceledException) { await CloseAsync(socket, WebSocketCloseStatus.NormalClosure, "closed"); }
        catch (WebSocketException) { } // the browser went away mid-send
        catch (Exception e)
        {
            log.WriteLine($"page: relay of {id} failed: {e.GetType().Name}: {e.Message}");
            await CloseAsync(socket, WebSocketCloseStatus.InternalServerError, "relay failed");
        }
    }

    /// <summary>Completes the close handshake (the browser's, or ours), bounded: a vanished peer does not hold the relay.</summary>
    private static async Task CloseAsync(WebSocket socket, WebSocketCloseStatus status, string why)
    {
        if (socket.State is not (WebSocketState.Open or WebSocketState.CloseReceived)) return;
        using var bound = new CancellationTokenSource(TimeSpan.FromSeconds(2));
        try { await socket.CloseOutputAsync(status, why, bound.Token); }
        catch (Exception e) when (e is WebSocketException or OperationCanceledException) { }
    }

    /// <summary>The sequence to read from, or 0 after telling the browser that there is no such stream.</summary>
    private async Task<ulong> FirstSequenceAsync(WebSocket socket, string id, string? from, CancellationToken ct)
    {
        var subjects = api.Subjects;
        // The id becomes part of a subject: anything but a plain id (a '.', '*' or '>') would read other streams.
        bool plain = id.Length is > 0 and <= 64 && id.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_');
        var first = plain ? await _reader.NextAsync($"{subjects.Prefix}.streams.{id}.>", 1, ct) : null;
        if (first is null && (!plain || api.Find(id) is null))
        {
            string shown = id.Length > 40 ? id[..40] + "…" : id;
            await SendTextAsync(socket, new JsonObject { ["type"] = "error", ["error"] = $"unknown stream '{shown}'", ["field"] = "stream" });
            await CloseAsync(socket, WebSocketCloseStatus.NormalClosure, "unknown stream");
            return 0;
        }
        if (ulong.TryParse(from, out var resume) && resume > 0) return resume;
        if (first is null || from != "live") return first?.Seq ?? 1;
        // Live: the init segment and the started event (what a player and the stats need), then the newest segment on.
        var last = await _reader.LastAsync(subjects.Video(id), ct);
        if (last is null || last.Header("Sf-Kind") != "segment") return first.Seq;
        var init = await _reader.NextAsync(subjects.Video(id), 1, ct);
        var started = await _reader.NextAsync(subjects.Events(id), 1, ct);
        foreach (var m in new[] { started, init }.OfType<RecordedMessage>().OrderBy(m => m.Seq))
            if (m.Seq < last.Seq) await SendAsync(socket, m, subjects);
        return last.Seq;
    }

    private static bool IsClosingEvent(RecordedMessage m, string eventsSubject)
    {
        if (m.Subject != eventsSubject) return false;
        var type = (string?)JsonNode.Parse(m.Data)?["type"];
        return type is "completed" or "cancelled" or "failed";
    }

    private static async Task SendAsync(WebSocket socket, RecordedMessage m, ApiSubjects subjects)
    {
        var header = new JsonObject
        {
            ["seq"] = m.Seq, ["subject"] = m.Subject.EndsWith(".video", StringComparison.Ordinal) ? "video" : "events",
            ["kind"] = m.Header("Sf-Kind"), ["chunk"] = m.Header("Sf-Chunk") is { } c ? int.Parse(c, System.Globalization.CultureInfo.InvariantCulture) : null,
            ["frames"] = m.Header("Sf-Frames") is { } f ? int.Parse(f, System.Globalization.CultureInfo.InvariantCulture) : null,
        };
        var headerBytes = Encoding.UTF8.GetBytes(header.ToJsonString());
        var frame = new byte[4 + headerBytes.Length + m.Data.Length];
        BinaryPrimitives.WriteInt32BigEndian(frame, headerBytes.Length);
        headerBytes.CopyTo(frame, 4);
        m.Data.CopyTo(frame, 4 + headerBytes.Length);
        await SendBoundedAsync(socket, frame, WebSocketMessageType.Binary);
    }

    private static Task SendTextAsync(WebSocket socket, JsonObject body) =>
        SendBoundedAsync(socket, Encoding.UTF8.GetBytes(body.ToJsonString()), WebSocketMessageType.Text);

    // A cancelled send aborts a .NET WebSocket, after which no close handshake can be made: a browser's close that
    // cancelled the message being sent reset the connection instead of closing it (seen once in CI). So the browser's
    // close is checked between messages, and a send is bounded only by time (a peer that stops reading).
    private static async Task SendBoundedAsync(WebSocket socket, byte[] data, WebSocketMessageType type)
    {
        using var bound = new CancellationTokenSource(SendLimit);
        await socket.SendAsync(data, type, true, bound.Token);
    }

    private static async Task WatchForCloseAsync(WebSocket socket, CancellationTokenSource closed)
    {
        var buffer = new byte[256];
        try
        {
            while (socket.State == WebSocketState.Open)
            {
                var r = await socket.ReceiveAsync(buffer, closed.Token);
                if (r.MessageType == WebSocketMessageType.Close) break;
            }
        }
        catch (Exception e) when (e is WebSocketException or OperationCanceledException) { }
        try { closed.Cancel(); } catch (ObjectDisposedException) { } // the relay ended first
    }
}
