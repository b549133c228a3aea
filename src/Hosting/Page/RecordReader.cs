using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using NATS.Client.Core;

namespace SelfForcing.Hosting.Page;

/// <summary>One message of the JetStream record, with its sequence (the position a relay resumes from).</summary>
public sealed record RecordedMessage(ulong Seq, string Subject, IReadOnlyDictionary<string, string> Headers, byte[] Data)
{
    public string? Header(string name) => Headers.TryGetValue(name, out var v) ? v : null;
}

/// <summary>
/// Reads one stream's messages out of the record by sequence with the JetStream "get message" API
/// (<c>next_by_subj</c>): no consumer is created, so nothing is left on the server when a viewer goes away, any
/// position can be resumed, and it works on nats-server 2.9, which refuses NATS.Net's filtered consumer-create.
/// </summary>
public sealed class RecordReader(NatsConnection nats, string streamName)
{
    private static readonly NatsRawSerializer<byte[]> Raw = NatsRawSerializer<byte[]>.Default;

    /// <summary>The first message at or after <paramref name="seq"/> whose subject matches <paramref name="filter"/>; null when there is none yet.</summary>
    public Task<RecordedMessage?> NextAsync(string filter, ulong seq, CancellationToken ct) =>
        GetAsync(new JsonObject { ["seq"] = seq, ["next_by_subj"] = filter }, ct);

    /// <summary>The newest message on <paramref name="subject"/>; null when there is none.</summary>
    public Task<RecordedMessage?> LastAsync(string subject, CancellationToken ct) =>
        GetAsync(new JsonObject { ["last_by_subj"] = subject }, ct);

    private async Task<RecordedMessage?> GetAsync(JsonObject request, CancellationToken ct)
    {
        var reply = await nats.RequestAsync<byte[], byte[]>($"$JS.API.STREAM.MSG.GET.{streamName}", Encoding.UTF8.GetBytes(request.ToJsonString()),
            requestSerializer: Raw, replySerializer: Raw, replyOpts: new NatsSubOpts { Timeout = TimeSpan.FromSeconds(5) }, cancellationToken: ct);
        using var doc = JsonDocument.Parse(reply.Data ?? []);
        var root = doc.RootElement;
        if (root.TryGetProperty("error", out var error))
        {
            // 10037: no message found — the reader has caught up with the record.
            if (error.TryGetProperty("err_code", out var code) && code.GetInt32() == 10037) return null;
            throw new NatsException($"JetStream refused to read {streamName}: {error.GetRawText()}");
        }
        var m = root.GetProperty("message");
        var headers = m.TryGetProperty("hdrs", out var h) ? ParseHeaders(Convert.FromBase64String(h.GetString()!)) : new Dictionary<string, string>();
        var data = m.TryGetProperty("data", out var d) ? Convert.FromBase64String(d.GetString()!) : [];
        return new RecordedMessage(m.GetProperty("seq").GetUInt64(), m.GetProperty("subject").GetString()!, headers, data);
    }

    /// <summary>NATS header block: <c>NATS/1.0\r\nName: value\r\n...\r\n\r\n</c>.</summary>
    internal static Dictionary<string, string> ParseHeaders(byte[] block)
    {
        var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var line in Encoding.UTF8.GetString(block).Split("\r\n").Skip(1))
        {
            int colon = line.IndexOf(':');
            if (colon > 0) headers[line[..colon].Trim()] = line[(colon + 1)..].Trim();
        }
        return headers;
    }
}
