using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using NATS.Client.Core;
using SelfForcing.Actors;
using SelfForcing.Actors.Messages;

namespace SelfForcing.Hosting.Serving;

/// <summary>
/// The request/reply API on <c>&lt;prefix&gt;.api.*</c> (start, cancel, prompt, list) over one NATS connection, and one
/// <see cref="StreamPublisher"/> per started stream. Every request is answered — with an <c>error</c> and the field
/// at fault when it cannot be served — and a bad request never affects another client.
/// </summary>
public sealed class NatsApiService(NatsConnection nats, JetStreamRecord record, SelfForcingPipeline pipeline, ServeSettings settings,
    IReadOnlyCollection<string> decoders, string defaultDecoder, int? latentHeight, int? latentWidth, TextWriter log)
{
    private static readonly NatsRawSerializer<byte[]> Raw = NatsRawSerializer<byte[]>.Default;
    private readonly ConcurrentDictionary<string, (ServedStream Stream, StreamPublisher Publisher)> _streams = new();
    private readonly CancellationTokenSource _shutdown = new();
    // Requests answered at once; more wait in the subscription's buffer instead of piling up tasks.
    private readonly SemaphoreSlim _concurrent = new(64);

    public ApiSubjects Subjects { get; } = new(settings.SubjectPrefix);

    public IReadOnlyCollection<ServedStream> Streams => _streams.Values.Select(v => v.Stream).ToList();

    /// <summary>Serves requests until <paramref name="ct"/> fires.</summary>
    public async Task RunAsync(TaskCompletionSource ready, CancellationToken ct)
    {
        await using var sub = await nats.SubscribeCoreAsync(Subjects.Api, serializer: Raw, cancellationToken: ct);
        // A round trip: once the server answers, it has processed the SUB, so "ready" means a request will find us.
        await nats.PingAsync(ct);
        ready.TrySetResult();
        try
        {
            await foreach (var msg in sub.Msgs.ReadAllAsync(ct))
            {
                await _concurrent.WaitAsync(ct);
                _ = Task.Run(async () => // a slow request never holds up the others
                {
                    try { await Answer(msg); }
                    finally { _concurrent.Release(); }
                }, CancellationToken.None);
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested) { }
    }

    private async Task Answer(NatsMsg<byte[]> msg)
    {
        bool msgpack = msg.Headers is { } h && h.TryGetValue("Content-Type", out var type) && type.ToString().StartsWith(ApiCodec.MsgPack, StringComparison.OrdinalIgnoreCase);
        string verb = msg.Subject[(msg.Subject.LastIndexOf('.') + 1)..];
        var reply = await ExecuteAsync(verb, msg.Data ?? [], msgpack, msg.Subject);
        if (msg.ReplyTo is null) return; // a publish without a reply subject: nobody to answer
        var headers = msgpack ? new NatsHeaders { ["Content-Type"] = ApiCodec.MsgPack } : null;
        try { await msg.ReplyAsync(ApiCodec.Encode(reply, msgpack), headers: headers, serializer: Raw); }
        catch (NatsException e) { log.WriteLine($"api: could not answer {msg.Subject}: {e.Message}"); }
    }

    /// <summary>
    /// One request, from any transport (NATS here, HTTP for the page): parsed, validated and served by the same code,
    /// so every client gets the same replies and the same errors. Never throws; an error is <c>{"error","field"}</c>.
    /// </summary>
    /// <param name="subject">The NATS subject it came on, for the unknown-request error (default <c>&lt;prefix&gt;.api.&lt;verb&gt;</c>).</param>
    public async Task<JsonObject> ExecuteAsync(string verb, ReadOnlyMemory<byte> body, bool msgpack, string? subject = null)
    {
        try
        {
            var request = ApiCodec.ParseObject(body.Span, msgpack);
            return verb switch
            {
                "start" => await Start(request),
                "cancel" => Cancel(request),
                "prompt" => await Prompt(request),
                "list" => await ListAsync(request),
                _ => throw new ApiError($"unknown API subject '{subject ?? $"{Subjects.Prefix}.api.{verb}"}' (use {Subjects.Start}, {Subjects.Cancel}, {Subjects.Prompt} or {Subjects.List})"),
            };
        }
        catch (ApiError e) { return ApiCodec.Error(e.Message, e.Field); }
        catch (Exception e) when (e is TimeoutException or Akka.Actor.AskTimeoutException or TaskCanceledException)
        {
            return ApiCodec.Error("the engine did not answer in time; try again", null);
        }
        catch (Exception e)
        {
            log.WriteLine($"api: {verb} failed: {e.GetType().Name}: {e.Message}");
            return ApiCodec.Error($"internal error: {e.Message}", null);
        }
    }

    /// <summary>What a client may choose from: the decoders this server has, the default one, the fps range.</summary>
    public JsonObject Info() => new()
    {
        ["decoders"] = new JsonArray(decoders.Select(d => (JsonNode)d).ToArray()), ["default_decoder"] = defaultDecoder,
        ["max_fps"] = settings.MaxFps, ["subject_prefix"] = settings.SubjectPrefix,
    };

    /// <summary>The stream if this server started it and still lists it.</summary>
    public ServedStream? Find(string id) => _streams.TryGetValue(id, out var s) ? s.Stream : null;

    public JetStreamRecord Record => record;

    private async Task<JsonObject> Start(JsonObject body)
    {
        var request = ApiRequests.Start(body, settings, decoders, defaultDecoder, latentHeight, latentWidth);
        ForgetOldStreams();
        var (handle, rejected) = await pipeline.TryStartAsync(request, settings.RequestTimeout);
        if (rejected is not null)
            throw rejected.AtCapacity ? new ApiError("at capacity", null) : new ApiError(rejected.Reason, rejected.Field);
        var stream = new ServedStream(handle!, request.Prompt);
        var publisher = new StreamPublisher(record, Subjects, stream, request.Format);
        _streams[stream.Id] = (stream, publisher);
        stream.Publisher = Task.Run(() => publisher.RunAsync(_shutdown.Token));
        return new JsonObject
        {
            ["stream"] = stream.Id, ["seed"] = handle!.Seed,
            ["video_subject"] = Subjects.Video(stream.Id), ["events_subject"] = Subjects.Events(stream.Id),
        };
    }

    private JsonObject Cancel(JsonObject body)
    {
        var id = ApiRequests.Cancel(body);
        if (!_streams.TryGetValue(id, out var s)) throw new ApiError($"unknown stream '{id}'", "stream");
        if (!s.Stream.Live) throw new ApiError($"stream '{id}' has already ended ({s.Stream.State})", "stream");
        s.Stream.Cancel("cancelled by a client");
        return new JsonObject { ["ok"] = true };
    }

    private async Task<JsonObject> Prompt(JsonObject body)
    {
        var (id, prompt) = ApiRequests.Prompt(body);
        if (!_streams.TryGetValue(id, out var s)) throw new ApiError($"unknown stream '{id}'", "stream");
        var (from, rejected) = await pipeline.TrySwitchPromptAsync(id, prompt, settings.RequestTimeout);
        if (rejected is not null) throw new ApiError(rejected.Reason, rejected.Field);
        s.Stream.Prompt = prompt;
        _ = s.Publisher.PromptSwitched(from!.Value, _shutdown.Token);
        return new JsonObject { ["ok"] = true, ["from_chunk"] = from };
    }

    private async Task<JsonObject> ListAsync(JsonObject body)
    {
        ApiRequests.List(body);
        var placements = (await pipeline.PlacementsAsync()).ByStream;
        var array = new JsonArray();
        foreach (var s in _streams.Values.Select(v => v.Stream).OrderBy(s => s.Id, StringComparer.Ordinal))
        {
            var item = new JsonObject { ["stream"] = s.Id, ["state"] = s.State, ["chunks_published"] = s.ChunksPublished, ["prompt"] = s.Prompt };
            // Where a live stream runs: per role, the node serving it (its cluster address).
            if (placements.TryGetValue(s.Id, out var nodes))
                item["nodes"] = new JsonObject(nodes.Select(kv => KeyValuePair.Create(Actors.Streams.NodeRoles.Name(kv.Key), (JsonNode?)kv.Value)));
            array.Add(item);
        }
        return new JsonObject { ["streams"] = array };
    }

    /// <summary>Finished streams stay listed for a while, but not forever: a long-running server would grow without bound.</summary>
    private void ForgetOldStreams()
    {
        const int keepFinished = 256;
        var finished = _streams.Values.Where(v => !v.Stream.Live && v.Stream.Publisher is { IsCompleted: true })
            .OrderBy(v => v.Stream.EndedAt).ToList();
        foreach (var (s, _) in finished.Take(Math.Max(0, finished.Count - keepFinished))) _streams.TryRemove(s.Id, out _);
    }

    /// <summary>Cancels every live stream and waits (bounded) for their closing events.</summary>
    public async Task StopAsync(TimeSpan grace)
    {
        foreach (var (s, _) in _streams.Values) if (s.Live) s.Cancel("the server is shutting down");
        var publishers = _streams.Values.Select(v => v.Stream.Publisher).OfType<Task>().ToArray();
        await Task.WhenAny(Task.WhenAll(publishers), Task.Delay(grace));
        _shutdown.Cancel();
        await Task.WhenAny(Task.WhenAll(publishers), Task.Delay(TimeSpan.FromSeconds(5)));
    }
}
