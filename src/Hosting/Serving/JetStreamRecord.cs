using NATS.Client.Core;
using NATS.Client.JetStream;
using NATS.Client.JetStream.Models;

namespace SelfForcing.Hosting.Serving;

/// <summary>
/// The JetStream stream that records every stream's video and events (<c>&lt;prefix&gt;.streams.&gt;</c>) on file, with a
/// duplicate window so a re-sent <c>Nats-Msg-Id</c> is stored once and a late viewer can replay from the first message.
/// Publishing waits for the store's acknowledgement and retries through disconnects with the same message id.
/// </summary>
public sealed class JetStreamRecord(NatsConnection nats, INatsJSContext js, ServeSettings settings)
{
    private static readonly NatsRawSerializer<byte[]> Raw = NatsRawSerializer<byte[]>.Default;

    public static async Task<JetStreamRecord> OpenAsync(NatsConnection nats, ServeSettings settings, ApiSubjects subjects, CancellationToken ct)
    {
        var js = new NatsJSContext(nats);
        var config = new StreamConfig(settings.StreamName, [subjects.AllStreams])
        {
            Storage = settings.JetStreamFileStorage ? StreamConfigStorage.File : StreamConfigStorage.Memory,
            DuplicateWindow = settings.DuplicateWindow,
            MaxAge = settings.MaxAge,
            MaxBytes = settings.MaxBytes,
            Discard = StreamConfigDiscard.Old,
        };
        try { await js.CreateOrUpdateStreamAsync(config, ct); }
        catch (NatsJSApiException e)
        {
            throw new InvalidOperationException($"cannot create the JetStream stream {settings.StreamName} on {settings.NatsUrl}: {e.Error.Description}", e);
        }
        catch (NatsNoRespondersException e)
        {
            throw new InvalidOperationException($"the NATS server at {settings.NatsUrl} has no JetStream (start it with -js)", e);
        }
        return new JetStreamRecord(nats, js, settings);
    }

    public string StreamName => settings.StreamName;

    /// <summary>The host's one connection, for readers of the record (the page's relay).</summary>
    public NatsConnection Connection => nats;

    /// <summary>Largest message the server accepts (its <c>max_payload</c>).</summary>
    public long MaxPayload => nats.ServerInfo?.MaxPayload ?? 1024 * 1024;

    /// <summary>Stores one message once: retried with the same id until acknowledged or <paramref name="ct"/> fires.</summary>
    /// <returns>True when the store already held this id (a re-send).</returns>
    public async Task<bool> PublishAsync(string subject, byte[] data, NatsHeaders headers, CancellationToken ct)
    {
        if (data.Length > MaxPayload)
            throw new InvalidOperationException($"a {data.Length}-byte message exceeds the NATS server's max_payload of {MaxPayload} bytes");
        var backoff = TimeSpan.FromMilliseconds(100);
        while (true)
        {
            try
            {
                var ack = await js.PublishAsync(subject, data, Raw, headers: headers, cancellationToken: ct);
                ack.EnsureSuccess();
                return ack.Duplicate;
            }
            catch (Exception e) when (!ct.IsCancellationRequested && e is NatsException or TimeoutException or OperationCanceledException)
            {
                // Disconnected, no ack in time, or the stream briefly unavailable (server restart): same id again.
                await Task.Delay(backoff, ct);
                backoff = TimeSpan.FromTicks(Math.Min(TimeSpan.FromSeconds(2).Ticks, backoff.Ticks * 2));
            }
        }
    }
}
