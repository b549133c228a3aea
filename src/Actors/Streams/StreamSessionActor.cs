using System.Diagnostics;
using System.Threading.Channels;
using Akka.Actor;
using Akka.Event;
using SelfForcing.Actors.Engines;
using SelfForcing.Actors.Messages;
using SelfForcing.Actors.Metrics;
using SelfForcing.Actors.Wire;

namespace SelfForcing.Actors.Streams;

/// <summary>
/// One stream, from admission to its end: its chunk sequence through text-encode → denoise → decode → encode, its
/// prompt switches, and delivery to its subscribers' bounded channel. It holds data, not devices: conditioning and
/// latents as bytes, the decoder state as a snapshot, so when a node serving it is lost it can resume elsewhere —
/// a denoiser by recomputing the KV cache from prompt and seed, a decoder or encoder by re-decoding from the last
/// snapshot before the first chunk not yet encoded. At most <see cref="PipelineSettings.MaxInFlight"/> chunks wait
/// between two stages, and a full channel (a slow consumer) stops the stream upstream.
/// </summary>
public sealed class StreamSessionActor : ReceiveActor
{
    private sealed record ConsumerReady : INoSerializationVerificationNeeded;
    private sealed record Decoding(int Chunk, WireTensor Latents, DecoderSnapshot Before, int FirstFrame);

    private readonly StreamSpec _spec;
    private readonly Channel<EncodedChunk> _output;
    private readonly PipelineSettings _settings;
    private readonly int _chunkLimit;
    private readonly Dictionary<NodeRole, IActorRef> _endpoints;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly Stopwatch _clock = Stopwatch.StartNew();

    private StreamPhase _phase = StreamPhase.Starting;
    private string? _error;
    private double? _firstFrameSeconds;
    private long _framesOut;

    private bool _opened;
    private int _nextDenoise;
    private bool _denoiseBusy;
    private readonly List<ChunkConditioning> _conditioning = [];
    private readonly List<(int FromChunk, string Prompt)> _prompts;
    private readonly Dictionary<int, string> _textInFlight = new();
    private int? _pendingSwitch;

    private readonly Queue<(int Chunk, WireTensor Latents)> _toDecode = new();
    private Decoding? _decoding;
    private readonly SortedDictionary<int, Decoding> _awaitingEncode = new();
    private DecoderSnapshot _snapshot;
    private int _nextFirstFrame;
    private int _nextEncoded;
    private readonly Queue<EncodedChunk> _toDeliver = new();
    private int _delivered;
    private bool _waitingForConsumer;
    private readonly ChunkWaits _waits = new();

    public StreamSessionActor(StreamSpec spec, Channel<EncodedChunk> output, int chunkLimit, PipelineSettings settings,
        IReadOnlyDictionary<NodeRole, IActorRef> endpoints)
    {
        _spec = spec;
        _output = output;
        _chunkLimit = chunkLimit;
        _settings = settings;
        _endpoints = new Dictionary<NodeRole, IActorRef>(endpoints);
        _prompts = [(0, spec.Prompt)];
        _snapshot = DecoderSnapshot.Start(spec.Decoder);

        Receive<TextEncoded>(OnTextEncoded);
        Receive<StreamOpened>(o => Live(() => { _opened = true; _phase = StreamPhase.Running; _waits.Ready(_nextDenoise, Now); }));
        Receive<OpenStreamFailed>(f => Live(() => End(StreamPhase.Failed, f.Reason)));
        Receive<ChunkDenoised>(OnDenoised);
        Receive<ChunkDecoded>(OnDecoded);
        Receive<ChunkEncoded>(OnEncoded);
        Receive<StageJobFailed>(OnStageFailed);
        Receive<ConsumerReady>(_ => Live(() => _waitingForConsumer = false));
        Receive<SwitchPrompt>(OnSwitchPrompt);
        Receive<CancelStream>(_ => Live(() => End(StreamPhase.Cancelled, "cancelled by the client")));
        Receive<GetStreamStatus>(_ => Sender.Tell(Status()));
        Receive<Terminated>(OnEndpointLost);
        Receive<EndpointAssigned>(OnEndpointAssigned);
        Receive<NoEndpoint>(n => Live(() => End(StreamPhase.Failed, n.Reason)));
    }

    public static Props Props(StreamSpec spec, Channel<EncodedChunk> output, int chunkLimit, PipelineSettings settings,
        IReadOnlyDictionary<NodeRole, IActorRef> endpoints) =>
        Akka.Actor.Props.Create(() => new StreamSessionActor(spec, output, chunkLimit, settings, endpoints));

    private double Now => _clock.Elapsed.TotalSeconds;

    private bool Finished => _phase is StreamPhase.Completed or StreamPhase.Cancelled or StreamPhase.Failed;
    private IActorRef Endpoint(NodeRole role) => _endpoints[role];

    protected override void PreStart()
    {
        foreach (var endpoint in _endpoints.Values) WatchIfRemote(endpoint);
        _log.Info("stream {0} started: seed {1}, {2} chunk(s), decoder {3}, prompt \"{4}\"", _spec.StreamId, _spec.Seed,
            _spec.Chunks?.ToString() ?? "unbounded", _spec.Decoder, _spec.Prompt.Length > 80 ? _spec.Prompt[..80] + "…" : _spec.Prompt);
        EncodeText(0, _spec.Prompt);
    }

    /// <summary>Endpoints in this process die only with it; those on other nodes are watched so their loss is noticed.</summary>
    private void WatchIfRemote(IActorRef endpoint)
    {
        if (endpoint is IInternalActorRef { IsLocal: false }) Context.Watch(endpoint);
    }

    private void EncodeText(int fromChunk, string prompt)
    {
        _textInFlight[fromChunk] = prompt;
        Endpoint(NodeRole.TextEncoder).Tell(new TextEncodeJob(_spec.StreamId, prompt, fromChunk));
    }

    private StreamStatus Status() => new(_spec.StreamId, _phase, _delivered, _error);

    private void Live(Action action)
    {
        if (Finished) return;
        action();
        Pump();
    }

    private void OnTextEncoded(TextEncoded t)
    {
        if (Finished || !_textInFlight.Remove(t.FromChunk)) return;
        var conditioning = new ChunkConditioning(t.FromChunk, t.Conditioning);
        _conditioning.RemoveAll(c => c.FromChunk == t.FromChunk);
        _conditioning.Add(conditioning);
        if (t.FromChunk == 0)
        {
            Endpoint(NodeRole.Denoiser).Tell(new OpenStream(_spec, [conditioning]));
            return;
        }
        // Sent before any DenoiseChunk from that chunk on: same sender, same receiver, so it is applied first.
        Endpoint(NodeRole.Denoiser).Tell(new SwitchConditioning(_spec.StreamId, t.FromChunk, t.Conditioning));
        if (_pendingSwitch == t.FromChunk) _pendingSwitch = null;
        Pump();
    }

    private void OnSwitchPrompt(SwitchPrompt m)
    {
        // The first chunk not yet handed to the denoiser; chunk 0 always keeps the stream's first prompt.
        int from = Math.Max(1, _nextDenoise + (_denoiseBusy ? 1 : 0));
        (string? problem, string field) =
            Finished ? ($"stream '{_spec.StreamId}' has ended ({_phase.ToString().ToLowerInvariant()})", "stream")
            : m.Prompt is null ? ("prompt is missing", "prompt")
            : StreamAdmission.PromptProblem(m.Prompt) is string p ? (p, "prompt")
            : _pendingSwitch is int pending ? ($"a prompt switch from chunk {pending} is still being prepared; try again", "stream")
            : from >= _chunkLimit ? ($"stream '{_spec.StreamId}' has no chunk left to switch (all {_chunkLimit} are generated or under way)", "stream")
            : ((string?)null, "");
        if (problem is not null)
        {
            Sender.Tell(new StreamRejected(problem, field));
            return;
        }
        _pendingSwitch = from;
        _prompts.Add((from, m.Prompt!));
        EncodeText(from, m.Prompt!);
        Sender.Tell(new PromptSwitched(_spec.StreamId, from));
        _log.Info("stream {0}: prompt switch from chunk {1}", _spec.StreamId, from);
    }

    private void OnDenoised(ChunkDenoised d)
    {
        if (Finished || !_denoiseBusy || d.Chunk != _nextDenoise) return;
        _denoiseBusy = false;
        _nextDenoise++;
        _waits.Denoised(d.Chunk, Now, d.Seconds);
        _waits.Ready(d.Chunk + 1, Now);
        _toDecode.Enqueue((d.Chunk, d.Latents));
        Pump();
    }

    private void OnDecoded(ChunkDecoded d)
    {
        if (Finished || _decoding is null || d.Chunk != _decoding.Chunk) return;
        if (d.Chunk >= _nextEncoded) _awaitingEncode[d.Chunk] = _decoding;
        _snapshot = d.Next;
        _nextFirstFrame = _decoding.FirstFrame + d.Frames;
        _decoding = null;
        Pump();
    }

    private void OnEncoded(ChunkEncoded e)
    {
        // A chunk encoded twice (a decoder retried after handing it over) arrives twice: the first one counts.
        if (Finished || e.Chunk != _nextEncoded) return;
        _awaitingEncode.Remove(e.Chunk);
        _nextEncoded++;
        var timings = _waits.Complete(e.Chunk, Now, e.DecodeSeconds, e.Seconds);
        _toDeliver.Enqueue(e.Output with { Timings = timings, Prompt = PromptFor(e.Chunk) });
        Pump();
    }

    private string PromptFor(int chunk) => _prompts.Last(p => p.FromChunk <= chunk).Prompt;

    private void OnStageFailed(StageJobFailed f)
    {
        if (Finished) return;
        string where = f.Chunk >= 0 ? $"chunk {f.Chunk}" : "the prompt";
        string attempts = f.Attempts > 0 ? $" after {f.Attempts} attempt(s)" : "";
        End(StreamPhase.Failed, $"{PipelineMetrics.Label(f.Stage)} failed on {where}{attempts}: {f.Reason}");
    }

    private void OnEndpointLost(Terminated t)
    {
        if (Finished) return;
        foreach (var (role, endpoint) in _endpoints.ToList())
        {
            if (!endpoint.Equals(t.ActorRef)) continue;
            _log.Warning("stream {0}: the {1} node {2} is gone; moving on to another", _spec.StreamId, NodeRoles.Name(role), t.ActorRef.Path.Address);
            _endpoints[role] = ActorRefs.Nobody;
            Context.Parent.Tell(new ReplaceEndpoint(_spec.StreamId, role, t.ActorRef));
            if (role == NodeRole.Denoiser)
            {
                _opened = false;
                _denoiseBusy = false; // the chunk under way there is lost with its node
            }
            if (role is NodeRole.Decoder or NodeRole.Publisher) Rewind();
        }
    }

    /// <summary>
    /// Decode again from the first chunk not yet encoded (its decoder snapshot is kept): frames that were in flight
    /// through a lost decoder or encoder are made again, identical; those that did arrive are not taken twice.
    /// </summary>
    private void Rewind()
    {
        var redo = _awaitingEncode.Values.ToList();
        if (_decoding is not null) redo.Add(_decoding);
        if (redo.Count == 0) return;
        var first = redo[0];
        if (first.Before.Live is not null)
        {
            End(StreamPhase.Failed, "a stage in this process was lost; its decoder state cannot be recovered");
            return;
        }
        var rest = _toDecode.ToList();
        _toDecode.Clear();
        foreach (var d in redo) _toDecode.Enqueue((d.Chunk, d.Latents));
        foreach (var r in rest) _toDecode.Enqueue(r);
        _awaitingEncode.Clear();
        _decoding = null;
        _snapshot = first.Before;
        _nextFirstFrame = first.FirstFrame;
    }

    private void OnEndpointAssigned(EndpointAssigned a)
    {
        if (Finished) return;
        _endpoints[a.Role] = a.Endpoint;
        WatchIfRemote(a.Endpoint);
        switch (a.Role)
        {
            case NodeRole.TextEncoder:
                foreach (var (from, prompt) in _textInFlight.ToList()) EncodeText(from, prompt);
                break;
            case NodeRole.Denoiser:
                if (_conditioning.Count > 0)
                    a.Endpoint.Tell(new OpenStream(_spec, _conditioning.ToList(), Replay: _nextDenoise));
                break;
        }
        Pump();
    }

    private void Pump()
    {
        if (Finished) return;
        Deliver(); // first: room freed downstream lets the stages below start
        if (Finished) return;
        int k = _settings.MaxInFlight;
        bool switchPending = _pendingSwitch is int from && _nextDenoise >= from;
        if (_opened && !_denoiseBusy && _nextDenoise < _chunkLimit && !switchPending && _toDecode.Count + (_decoding is null ? 0 : 1) < k
            && !Endpoint(NodeRole.Denoiser).IsNobody())
        {
            _denoiseBusy = true;
            _waits.DenoiseSent(_nextDenoise, Now);
            Endpoint(NodeRole.Denoiser).Tell(new DenoiseChunk(_spec.StreamId, _nextDenoise));
        }
        if (_decoding is null && _toDecode.Count > 0 && _awaitingEncode.Count + _toDeliver.Count < k
            && !Endpoint(NodeRole.Decoder).IsNobody() && !Endpoint(NodeRole.Publisher).IsNobody())
        {
            var (chunk, latents) = _toDecode.Dequeue();
            _decoding = new Decoding(chunk, latents, _snapshot, _nextFirstFrame);
            _waits.DecodeSent(chunk, Now);
            Endpoint(NodeRole.Decoder).Tell(new DecodeJob(_spec, chunk, _nextFirstFrame, latents, _snapshot, Endpoint(NodeRole.Publisher)));
        }
        Deliver();
    }

    private void Deliver()
    {
        while (_toDeliver.Count > 0 && _output.Writer.TryWrite(_toDeliver.Peek()))
        {
            var chunk = _toDeliver.Dequeue();
            _delivered++;
            _framesOut += chunk.Frames;
            PipelineMetrics.Frames.Inc(chunk.Frames);
            if (_firstFrameSeconds is null)
            {
                _firstFrameSeconds = _clock.Elapsed.TotalSeconds;
                PipelineMetrics.FirstFrameSeconds.Observe(_firstFrameSeconds.Value);
            }
        }
        if (_toDeliver.Count > 0 && !_waitingForConsumer)
        {
            // Slow consumer: resume when the channel has room again; nothing upstream runs ahead meanwhile.
            _waitingForConsumer = true;
            var self = Self;
            _output.Writer.WaitToWriteAsync().AsTask().ContinueWith(_ => self.Tell(new ConsumerReady()), TaskScheduler.Default);
        }
        // An unbounded stream ends here too, at the model's positional limit.
        if (_delivered >= _chunkLimit) End(StreamPhase.Completed, null);
    }

    private void End(StreamPhase phase, string? error)
    {
        if (Finished) return;
        _phase = phase;
        _error = error;
        _toDecode.Clear();
        _toDeliver.Clear();
        _awaitingEncode.Clear();
        if (!Endpoint(NodeRole.Denoiser).IsNobody()) Endpoint(NodeRole.Denoiser).Tell(new CloseStream(_spec.StreamId));
        if (!Endpoint(NodeRole.Decoder).IsNobody()) Endpoint(NodeRole.Decoder).Tell(new ReleaseDecoder(_spec.StreamId));
        // The coordinator hears of the end before a reader can see the output complete: a request sent on seeing it
        // (a prompt switch, a status) then finds the stream ended there, instead of being forwarded here as this
        // actor stops and dying unanswered.
        Context.Parent.Tell(new SessionEnded(Status()));
        switch (phase)
        {
            case StreamPhase.Completed: _output.Writer.TryComplete(); break;
            case StreamPhase.Cancelled: _output.Writer.TryComplete(new OperationCanceledException($"stream {_spec.StreamId} was cancelled")); break;
            default: _output.Writer.TryComplete(new StreamFailedException(_spec.StreamId, error ?? "unknown error")); break;
        }
        double seconds = _clock.Elapsed.TotalSeconds;
        if (phase == StreamPhase.Completed && seconds > 0) PipelineMetrics.StreamFps.Set(_framesOut / seconds);
        PipelineMetrics.StreamsFinished.WithLabels(phase.ToString().ToLowerInvariant()).Inc();
        _log.Info($"stream {_spec.StreamId} {phase.ToString().ToLowerInvariant()}: {_delivered} chunk(s), {_framesOut} frames in {seconds:F2}s, " +
                  $"first frames after {_firstFrameSeconds ?? double.NaN:F2}s" + (error is null ? "" : $" — {error}"));
        Context.Stop(Self);
    }
}
