using System.Diagnostics;
using System.Text.Json.Nodes;
using NATS.Client.Core;
using SelfForcing.Actors.Messages;
using SelfForcing.Actors.Video;

namespace SelfForcing.Hosting.Serving;

/// <summary>
/// Publishes one stream: each chunk's payloads on its video subject (headers <c>Nats-Msg-Id</c>, <c>Sf-Chunk</c>,
/// <c>Sf-Kind</c>, <c>Sf-Frames</c>), then a <c>chunk</c> event; <c>started</c> first and one of
/// <c>completed</c>/<c>cancelled</c>/<c>failed</c> last. Chunks are read from the pipeline's bounded channel only as
/// fast as the store acknowledges them, so a stalled NATS stalls the stream instead of growing memory.
/// </summary>
public sealed class StreamPublisher(JetStreamRecord record, ApiSubjects subjects, ServedStream stream, StreamFormat format)
{
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private long _events;

    public async Task RunAsync(CancellationToken shutdown)
    {
        await Event(StreamEvents.Started(stream, _clock.Elapsed.TotalSeconds, StreamFormats.Name(format)), shutdown);
        string type;
        string? reason = null;
        try
        {
            await foreach (var chunk in stream.Handle.ReadAllAsync(shutdown))
            {
                foreach (var payload in chunk.Payloads) await Video(chunk, payload, shutdown);
                stream.Published(chunk.Frames);
                await Event(StreamEvents.Chunk(stream, chunk, _clock.Elapsed.TotalSeconds), shutdown);
            }
            type = "completed";
        }
        catch (OperationCanceledException)
        {
            if (shutdown.IsCancellationRequested) stream.Cancel("the server is shutting down");
            type = "cancelled";
            reason = stream.CancelReason;
        }
        catch (StreamFailedException e)
        {
            type = "failed";
            reason = e.Reason;
        }
        catch (InvalidOperationException e)
        {
            // Publishing itself failed for good (e.g. a message over max_payload): the stream cannot be delivered.
            stream.Handle.Cancel();
            type = "failed";
            reason = e.Message;
        }
        stream.End(type);
        // The closing event is worth a few seconds even during shutdown: viewers learn why the stream ended.
        using var last = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        try { await Event(StreamEvents.Ended(stream, type, _clock.Elapsed.TotalSeconds, reason), last.Token); }
        catch (OperationCanceledException) { }
    }

    public Task PromptSwitched(int fromChunk, CancellationToken ct) => Event(StreamEvents.Prompt(stream, fromChunk, _clock.Elapsed.TotalSeconds), ct);

    private Task Video(EncodedChunk chunk, StreamPayload p, CancellationToken ct) =>
        record.PublishAsync(subjects.Video(stream.Id), p.Data, VideoHeaders(stream.Id, chunk.Chunk, p), ct);

    /// <summary>The headers of one video message: its store-once id and what a viewer needs to place it.</summary>
    public static NatsHeaders VideoHeaders(string streamId, int chunk, StreamPayload p) => new()
    {
        ["Nats-Msg-Id"] = $"{streamId}-{p.Kind}-{p.Index}",
        ["Sf-Chunk"] = chunk.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["Sf-Kind"] = p.Kind,
        ["Sf-Frames"] = p.Frames.ToString(System.Globalization.CultureInfo.InvariantCulture),
    };

    private Task Event(JsonObject body, CancellationToken ct)
    {
        // Events go through the same record: a viewer that joins late replays them with the video.
        var headers = new NatsHeaders { ["Nats-Msg-Id"] = $"{stream.Id}-event-{Interlocked.Increment(ref _events)}", ["Content-Type"] = "application/json" };
        return record.PublishAsync(subjects.Events(stream.Id), System.Text.Encoding.UTF8.GetBytes(body.ToJsonString()), headers, ct);
    }
}
