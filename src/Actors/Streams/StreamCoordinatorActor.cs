using System.Threading.Channels;
using Akka.Actor;
using Akka.Event;
using SelfForcing.Actors.Engines;
using SelfForcing.Actors.Messages;
using SelfForcing.Actors.Metrics;
using SelfForcing.Actors.Stages;

namespace SelfForcing.Actors.Streams;

/// <summary>
/// Moves every stream's chunks through text-encode → denoise → decode → encode and into the stream's bounded
/// channel. A stream has at most one job per stage at a time, so chunks stay in order and stages interleave
/// streams fairly; at most <see cref="PipelineSettings.MaxInFlight"/> chunks wait between two stages, and a full
/// output channel (a slow consumer) stops the stream upstream. Denoising of chunk N+1 starts as soon as chunk N
/// is committed, independent of decoding.
/// </summary>
public sealed class StreamCoordinatorActor : ReceiveActor
{
    private sealed record ConsumerReady(string StreamId);

    private readonly PipelineSettings _settings;
    private readonly IActorRef _textStage, _cacheOwner, _decodeStage, _encodeStage;
    private readonly IDecodeEngine _decoders;
    private readonly bool _rolling;
    private readonly int _maxChunks;
    private readonly Dictionary<string, StreamState> _streams = new();
    // Ended streams are forgotten once no stage holds their tensors; their outcome stays answerable for a while.
    private readonly Dictionary<string, StreamStatus> _ended = new();
    private readonly Queue<string> _endedOrder = new();
    private const int EndedKept = 1024;
    private readonly ILoggingAdapter _log = Context.GetLogger();

    public StreamCoordinatorActor(PipelineSettings settings, IActorRef textStage, IActorRef cacheOwner, IActorRef decodeStage, IActorRef encodeStage,
        IDecodeEngine decoders, bool rolling, int maxChunks = int.MaxValue)
    {
        _settings = settings;
        _textStage = textStage;
        _cacheOwner = cacheOwner;
        _decodeStage = decodeStage;
        _encodeStage = encodeStage;
        _decoders = decoders;
        _rolling = rolling;
        _maxChunks = maxChunks;

        Receive<StartStream>(Start);
        Receive<SwitchPrompt>(OnSwitchPrompt);
        Receive<CancelStream>(c =>
        {
            if (_streams.TryGetValue(c.StreamId, out var s) && !s.Finished) End(s, StreamPhase.Cancelled, "cancelled by the client");
        });
        Receive<GetStreamStatus>(g => Sender.Tell(_streams.TryGetValue(g.StreamId, out var s)
            ? new StreamStatus(g.StreamId, s.Phase, s.Delivered, s.Error)
            : _ended.TryGetValue(g.StreamId, out var ended) ? ended
            : new StreamStatus(g.StreamId, StreamPhase.Failed, 0, "unknown stream")));
        Receive<TextEncoded>(OnTextEncoded);
        Receive<CacheAllocated>(a => WithLive(a.StreamId, s => { s.CacheReady = true; s.Phase = StreamPhase.Running; }));
        Receive<CacheAllocationFailed>(f => WithLive(f.StreamId, s => End(s, StreamPhase.Failed, f.Reason)));
        Receive<ChunkDenoised>(OnDenoised);
        Receive<ChunkDecoded>(OnDecoded);
        Receive<ChunkEncoded>(OnEncoded);
        Receive<StageJobFailed>(OnStageFailed);
        Receive<ConsumerReady>(r => WithLive(r.StreamId, s => s.WaitingForConsumer = false));
    }

    public static Props Props(PipelineSettings settings, IActorRef textStage, IActorRef cacheOwner, IActorRef decodeStage, IActorRef encodeStage,
        IDecodeEngine decoders, bool rolling, int maxChunks = int.MaxValue) =>
        Akka.Actor.Props.Create(() => new StreamCoordinatorActor(settings, textStage, cacheOwner, decodeStage, encodeStage, decoders, rolling, maxChunks));

    private void Start(StartStream m)
    {
        var r = m.Request;
        (string? problem, string? field) =
            r.Prompt is null ? ("prompt is missing", "prompt")
            : PromptProblem(r.Prompt) is string p ? (p, "prompt")
            : r.Chunks is < 1 or > 100_000 ? ($"chunks must be between 1 and 100000 (got {r.Chunks})", "chunks")
            : r.Chunks > _maxChunks ? ($"chunks must be at most {_maxChunks}: the model's RoPE covers {Model.Dit.RotaryEmbedding.MaxPositions} latent frames (got {r.Chunks})", "chunks")
            : r.Chunks is null && !_rolling ? ("an unbounded stream needs a model configured with rolling attention (local_attn_size > 0)", "chunks")
            : !(r.Fps >= 1 && r.Fps <= 120) ? ($"fps must be between 1 and 120 (got {r.Fps})", "fps")
            : !_decoders.Decoders.Contains(r.Decoder) ? ($"decoder '{r.Decoder}' is not available (have: {string.Join(", ", _decoders.Decoders)})", "decoder")
            : r.LatentHeight is < 2 or > 512 || r.LatentWidth is < 2 or > 512 || r.LatentHeight % 2 == 1 || r.LatentWidth % 2 == 1
                ? ("latent height/width must be even and between 2 and 512", "latent_height")
            : r.Seed < -1 ? ("seed must be >= 0, or -1 for a random seed", "seed")
            : ((string?)null, (string?)null);
        if (problem is not null)
        {
            Sender.Tell(new StreamRejected(problem, field));
            return;
        }
        if (_streams.Values.Count(s => !s.Finished) >= _settings.MaxStreams)
        {
            Sender.Tell(new StreamRejected($"at capacity: the server runs its limit of {_settings.MaxStreams} streams", null, AtCapacity: true));
            return;
        }
        string id = NewStreamId();
        long seed = r.Seed == -1 ? Random.Shared.NextInt64(0, long.MaxValue) : r.Seed;
        var spec = new StreamSpec(id, r.Prompt!, seed, r.LatentHeight ?? _settings.DefaultLatentHeight, r.LatentWidth ?? _settings.DefaultLatentWidth,
            r.Chunks, r.Fps, r.Decoder, r.Format);
        var channel = Channel.CreateBounded<EncodedChunk>(new BoundedChannelOptions(_settings.MaxInFlight) { SingleWriter = true, SingleReader = false });
        var state = new StreamState(spec, channel, r.Chunks, _maxChunks) { DecoderState = _decoders.Initial(r.Decoder) };
        _streams[id] = state;
        Sender.Tell(new StreamStarted(id, seed, r.Chunks, channel.Reader));
        _log.Info("stream {0} started: seed {1}, {2} chunk(s), decoder {3}, prompt \"{4}\"", id, seed, r.Chunks?.ToString() ?? "unbounded", r.Decoder,
            spec.Prompt.Length > 80 ? spec.Prompt[..80] + "…" : spec.Prompt);
        _textStage.Tell(new TextEncodeJob(id, spec.Prompt));
    }

    /// <summary>
    /// Stream ids are random, not a counter: published subjects and JetStream message ids outlive this process, and
    /// a reused id would replay (or be de-duplicated against) an earlier run's messages.
    /// </summary>
    private static string NewStreamId() => "s" + Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(6));

    private static string? PromptProblem(string prompt) =>
        prompt.Length > 100_000 ? $"prompt is {prompt.Length} characters; the limit is 100000"
        : string.IsNullOrWhiteSpace(prompt) ? "prompt is empty"
        : null;

    private void OnSwitchPrompt(SwitchPrompt m)
    {
        if (!_streams.TryGetValue(m.StreamId, out var s))
        {
            Sender.Tell(new StreamRejected(_ended.TryGetValue(m.StreamId, out var ended)
                ? $"stream '{m.StreamId}' has ended ({ended.Phase.ToString().ToLowerInvariant()})"
                : $"unknown stream '{m.StreamId}'", "stream"));
            return;
        }
        // The first chunk not yet handed to the denoiser; chunk 0 always keeps the stream's first prompt.
        int from = Math.Max(1, s.NextDenoise + (s.DenoiseBusy ? 1 : 0));
        string? problem =
            s.Finished ? $"stream '{m.StreamId}' has ended ({s.Phase.ToString().ToLowerInvariant()})"
            : m.Prompt is null ? "prompt is missing"
            : PromptProblem(m.Prompt) is string p ? p
            : s.PendingSwitch is int pending ? $"a prompt switch from chunk {pending} is still being prepared; try again"
            : from >= s.ChunkLimit ? $"stream '{m.StreamId}' has no chunk left to switch (all {s.ChunkLimit} are generated or under way)"
            : null;
        if (problem is not null)
        {
            Sender.Tell(new StreamRejected(problem, s.Finished ? "stream" : problem.StartsWith("a prompt switch", StringComparison.Ordinal) || problem.Contains("no chunk left") ? "stream" : "prompt"));
            return;
        }
        s.PendingSwitch = from;
        s.Prompts.Add((from, m.Prompt!));
        _textStage.Tell(new TextEncodeJob(s.Spec.StreamId, m.Prompt!, from));
        Sender.Tell(new PromptSwitched(s.Spec.StreamId, from));
        _log.Info("stream {0}: prompt switch from chunk {1}", s.Spec.StreamId, from);
    }

    private void OnTextEncoded(TextEncoded t)
    {
        if (!_streams.TryGetValue(t.StreamId, out var s) || s.Finished)
        {
            t.Conditioning.Dispose();
            return;
        }
        if (t.FromChunk > 0)
        {
            // Sent before any DenoiseRequest for that chunk, so the cache owner applies it first (same sender, same receiver: in order).
            _cacheOwner.Tell(new SwitchConditioning(s.Spec.StreamId, t.FromChunk, t.Conditioning));
            if (s.PendingSwitch == t.FromChunk) s.PendingSwitch = null;
            Pump(s);
            return;
        }
        _cacheOwner.Tell(new AllocateCache(s.Spec, t.Conditioning)); // ownership passes to the cache owner
    }

    private void OnDenoised(ChunkDenoised d)
    {
        _cacheOwner.Tell(new CommitChunk(d.StreamId, d.Chunk));
        if (!_streams.TryGetValue(d.StreamId, out var s) || s.Finished || !s.DenoiseBusy || d.Chunk != s.NextDenoise)
        {
            d.Latents.Dispose();
            return;
        }
        s.DenoiseBusy = false;
        s.NextDenoise++;
        s.DenoiseSeconds[d.Chunk] = d.Seconds;
        s.ToDecode.Enqueue((d.Chunk, d.Latents));
        Pump(s);
    }

    private void OnDecoded(ChunkDecoded d)
    {
        _streams.TryGetValue(d.StreamId, out var s);
        if (s is null || s.Finished || !s.DecodeBusy)
        {
            ResultDisposal.Dispose(d);
            if (s is { Finished: true, DecodeBusy: true })
            {
                s.SettleDecode();
                s.DecoderState?.Dispose();
                s.DecoderState = null;
                Forget(s);
            }
            return;
        }
        s.SettleDecode();
        s.DecoderState?.Dispose();
        s.DecoderState = d.Next;
        s.DecodeSeconds[d.Chunk] = d.Seconds;
        s.ToEncode.Enqueue((d.Chunk, d.Pixels));
        Pump(s);
    }

    private void OnEncoded(ChunkEncoded e)
    {
        _streams.TryGetValue(e.StreamId, out var s);
        if (s is null || !s.EncodeBusy) return;
        s.SettleEncode();
        if (s.Finished)
        {
            Forget(s);
            return;
        }
        s.FramesEncoded += e.Output.Frames;
        s.DenoiseSeconds.Remove(e.Chunk, out double denoise);
        s.DecodeSeconds.Remove(e.Chunk, out double decode);
        s.ToDeliver.Enqueue(e.Output with { Timings = new ChunkTimings(denoise, decode, e.Seconds), Prompt = s.PromptFor(e.Chunk) });
        Pump(s);
    }

    private void OnStageFailed(StageJobFailed f)
    {
        if (f.Stage == Stage.Denoise) _cacheOwner.Tell(new DenoiseSettled(f.StreamId));
        if (!_streams.TryGetValue(f.StreamId, out var s)) return;
        if (f.Stage == Stage.Decode) s.SettleDecode();
        if (f.Stage == Stage.Encode) s.SettleEncode();
        if (s.Finished)
        {
            Forget(s);
            return;
        }
        string where = f.Chunk >= 0 ? $"chunk {f.Chunk}" : "the prompt";
        string attempts = f.Attempts > 0 ? $" after {f.Attempts} attempt(s)" : "";
        End(s, StreamPhase.Failed, $"{PipelineMetrics.Label(f.Stage)} failed on {where}{attempts}: {f.Reason}");
    }

    /// <summary>Drops an ended stream's state once no stage holds its tensors (a long-running server must not keep every stream).</summary>
    private void Forget(StreamState s)
    {
        if (!s.Finished || s.DecodeBusy || s.EncodeBusy) return;
        string id = s.Spec.StreamId;
        if (!_streams.Remove(id)) return;
        _ended[id] = new StreamStatus(id, s.Phase, s.Delivered, s.Error);
        _endedOrder.Enqueue(id);
        while (_endedOrder.Count > EndedKept) _ended.Remove(_endedOrder.Dequeue());
    }

    private void WithLive(string id, Action<StreamState> action)
    {
        if (!_streams.TryGetValue(id, out var s) || s.Finished) return;
        action(s);
        Pump(s);
    }

    private void Pump(StreamState s)
    {
        if (s.Finished) return;
        Deliver(s); // first: room freed downstream lets the stages below start
        if (s.Finished) return;
        int k = _settings.MaxInFlight;
        bool switchPending = s.PendingSwitch is int from && s.NextDenoise >= from;
        if (s.CacheReady && !s.DenoiseBusy && !s.AllDenoised && !switchPending && s.ToDecode.Count + (s.DecodeBusy ? 1 : 0) < k)
        {
            s.DenoiseBusy = true;
            _cacheOwner.Tell(new DenoiseRequest(s.Spec.StreamId, s.NextDenoise));
        }
        if (!s.DecodeBusy && s.ToDecode.Count > 0 && s.ToEncode.Count + (s.EncodeBusy ? 1 : 0) < k)
        {
            var (chunk, latents) = s.ToDecode.Dequeue();
            s.InDecode = latents;
            _decodeStage.Tell(new DecodeJob(s.Spec, chunk, latents, s.DecoderState!));
        }
        if (!s.EncodeBusy && s.ToEncode.Count > 0 && s.ToDeliver.Count < k)
        {
            var (chunk, pixels) = s.ToEncode.Dequeue();
            s.InEncode = pixels;
            _encodeStage.Tell(new EncodeJob(s.Spec, chunk, s.FramesEncoded, pixels));
        }
        Deliver(s);
    }

    private void Deliver(StreamState s)
    {
        while (s.ToDeliver.Count > 0 && s.Output.Writer.TryWrite(s.ToDeliver.Peek()))
        {
            var chunk = s.ToDeliver.Dequeue();
            s.Delivered++;
            s.FramesOut += chunk.Frames;
            PipelineMetrics.Frames.Inc(chunk.Frames);
            if (s.FirstFrameSeconds is null)
            {
                s.FirstFrameSeconds = s.Clock.Elapsed.TotalSeconds;
                PipelineMetrics.FirstFrameSeconds.Observe(s.FirstFrameSeconds.Value);
            }
        }
        if (s.ToDeliver.Count > 0 && !s.WaitingForConsumer)
        {
            // Slow consumer: resume when the channel has room again; nothing upstream runs ahead meanwhile.
            s.WaitingForConsumer = true;
            var self = Self;
            var id = s.Spec.StreamId;
            s.Output.Writer.WaitToWriteAsync().AsTask().ContinueWith(_ => self.Tell(new ConsumerReady(id)), TaskScheduler.Default);
        }
        // An unbounded stream ends here too, at the model's positional limit.
        if (s.Delivered >= s.ChunkLimit) End(s, StreamPhase.Completed, null);
    }

    private void End(StreamState s, StreamPhase phase, string? error)
    {
        s.Phase = phase;
        s.Error = error;
        s.DropPending();
        _cacheOwner.Tell(new ReleaseCache(s.Spec.StreamId));
        switch (phase)
        {
            case StreamPhase.Completed: s.Output.Writer.TryComplete(); break;
            case StreamPhase.Cancelled: s.Output.Writer.TryComplete(new OperationCanceledException($"stream {s.Spec.StreamId} was cancelled")); break;
            default: s.Output.Writer.TryComplete(new StreamFailedException(s.Spec.StreamId, error ?? "unknown error")); break;
        }
        double seconds = s.Clock.Elapsed.TotalSeconds;
        if (phase == StreamPhase.Completed && seconds > 0) PipelineMetrics.StreamFps.Set(s.FramesOut / seconds);
        PipelineMetrics.StreamsFinished.WithLabels(phase.ToString().ToLowerInvariant()).Inc();
        _log.Info($"stream {s.Spec.StreamId} {phase.ToString().ToLowerInvariant()}: {s.Delivered} chunk(s), {s.FramesOut} frames in {seconds:F2}s, " +
                  $"first frames after {s.FirstFrameSeconds ?? double.NaN:F2}s" + (error is null ? "" : $" — {error}"));
        Forget(s);
    }
}
