using Akka.Actor;
using SelfForcing.Actors.Engines;
using SelfForcing.Actors.Messages;
using SelfForcing.Actors.Wire;
using static TorchSharp.torch;

namespace SelfForcing.Actors.Stages;

/// <summary>
/// The denoiser node's owner of KV caches: one per stream placed here, opened, lent to the node's denoise stage one
/// chunk at a time (as a handle), advanced when a chunk's context pass has finished, and freed when the stream
/// ends, moves, or its session's node is gone. Caches never leave this node; sessions see chunk numbers and latents.
/// A stream moved here from a lost node is first replayed up to where it was (deterministic from prompt and seed).
/// </summary>
public sealed class CacheOwnerActor : ReceiveActor
{
    private sealed class Entry(StreamSpec spec, CacheHandle handle, IActorRef session)
    {
        public StreamSpec Spec { get; } = spec;
        public CacheHandle Handle { get; } = handle;
        public IActorRef Session { get; } = session;
        /// <summary>Conditioning by first chunk, on the denoiser's device.</summary>
        public SortedList<int, Tensor> Conditioning { get; } = new();
        /// <summary>First chunk of the conditioning the cache's cross-attention was built from.</summary>
        public int CrossAttentionFrom { get; set; }
        public int Committed { get; set; }
        public bool Lent { get; set; }
        public bool Closed { get; set; }
        /// <summary>Chunks to recompute before the stream goes on here (0: none); who waits for <see cref="StreamOpened"/>.</summary>
        public int ReplayTo { get; set; }
        public IActorRef? OpenedReplyTo { get; set; }
        /// <summary>Conditioning replaced while a chunk was lent (the denoiser may be reading it): freed when it settles.</summary>
        public List<Tensor> Retired { get; } = [];

        public void Settle()
        {
            Lent = false;
            foreach (var t in Retired) t.Dispose();
            Retired.Clear();
        }
    }

    private readonly StreamCaches _caches;
    private readonly IActorRef _denoiseStage;
    private readonly Dictionary<string, Entry> _streams = new();

    private readonly int _maxStreams;

    /// <param name="maxStreams">Streams this node takes (it tells the coordinator, and refuses more).</param>
    public CacheOwnerActor(StreamCaches caches, IActorRef denoiseStage, int maxStreams)
    {
        _caches = caches;
        _denoiseStage = denoiseStage;
        _maxStreams = maxStreams;
        Receive<GetDenoiserCapacity>(_ => Sender.Tell(new DenoiserCapacity(_maxStreams)));
        Receive<OpenStream>(Open);
        Receive<DenoiseChunk>(d => Lend(d.StreamId, d.Chunk, Sender));
        Receive<ChunkDenoisedLocally>(OnDenoised);
        Receive<StageJobFailed>(OnFailed);
        Receive<SwitchConditioning>(m =>
        {
            if (!_streams.TryGetValue(m.StreamId, out var e)) return;
            AddConditioning(e, m.FromChunk, m.Conditioning);
        });
        Receive<CloseStream>(c => Close(c.StreamId));
        Receive<Terminated>(t =>
        {
            // The session's node is gone: nobody will ask for these streams again.
            foreach (var id in _streams.Where(kv => kv.Value.Session.Equals(t.ActorRef)).Select(kv => kv.Key).ToList()) Close(id);
        });
        Receive<GetCacheState>(_ => Sender.Tell(new CacheState(
            _streams.Values.Where(e => !e.Closed).ToDictionary(e => e.Spec.StreamId, e => e.Committed),
            _streams.Values.Where(e => !e.Closed).Sum(e => _caches.Bytes(e.Handle)))));
    }

    public static Props Props(StreamCaches caches, IActorRef denoiseStage, int maxStreams) =>
        Akka.Actor.Props.Create(() => new CacheOwnerActor(caches, denoiseStage, maxStreams));

    private void Open(OpenStream m)
    {
        string id = m.Spec.StreamId;
        if (_streams.ContainsKey(id))
        {
            Sender.Tell(new OpenStreamFailed(id, "the stream already holds a KV cache on this node", FailureKind.Permanent));
            return;
        }
        if (_streams.Values.Count(e => !e.Closed) >= _maxStreams)
        {
            Sender.Tell(new OpenStreamFailed(id, $"this denoiser node is at capacity ({_maxStreams} streams)", FailureKind.Error));
            return;
        }
        CacheHandle handle;
        try { handle = _caches.Open(m.Spec); }
        catch (Exception e)
        {
            var typed = DeviceFailures.Translate(e);
            var kind = StageFailures.Classify(typed);
            Sender.Tell(new OpenStreamFailed(id, kind == FailureKind.OutOfMemory ? $"device out of memory allocating the KV cache: {e.Message}" : e.Message, kind));
            return;
        }
        var entry = new Entry(m.Spec, handle, Sender);
        _streams[id] = entry;
        if (!Sender.IsNobody()) Context.Watch(Sender);
        foreach (var c in m.Conditioning) AddConditioning(entry, c.FromChunk, c.Conditioning);
        if (m.Replay <= 0)
        {
            Sender.Tell(new StreamOpened(id, 0));
            return;
        }
        entry.ReplayTo = m.Replay;
        entry.OpenedReplyTo = Sender;
        Lend(id, 0, Self);
    }

    private void AddConditioning(Entry e, int fromChunk, WireTensor conditioning)
    {
        var t = conditioning.ToTensor(_caches.Engine.Device).DetachFromDisposeScope();
        if (e.Conditioning.Remove(fromChunk, out var old))
        {
            if (e.Lent) e.Retired.Add(old);
            else old.Dispose();
        }
        e.Conditioning[fromChunk] = t;
    }

    private void Lend(string streamId, int chunk, IActorRef requester)
    {
        if (!_streams.TryGetValue(streamId, out var e) || e.Closed)
        {
            requester.Tell(new StageJobFailed(Stage.Denoise, streamId, chunk, 0, "the stream holds no KV cache on this node (ended or moved)", FailureKind.Permanent));
            return;
        }
        if (chunk != e.Committed || e.Lent)
        {
            requester.Tell(new StageJobFailed(Stage.Denoise, streamId, chunk, 0,
                $"chunk {chunk} requested but {e.Committed} chunks are committed{(e.Lent ? " and one is under way" : "")}", FailureKind.Permanent));
            return;
        }
        int from = e.Conditioning.Keys.LastOrDefault(k => k <= chunk, -1);
        if (from < 0)
        {
            requester.Tell(new StageJobFailed(Stage.Denoise, streamId, chunk, 0, $"no conditioning for chunk {chunk}", FailureKind.Permanent));
            return;
        }
        if (from != e.CrossAttentionFrom)
        {
            // The chunk boundary of a prompt switch: new text keys/values, same self-attention history.
            _caches.ClearCrossAttention(e.Handle);
            e.CrossAttentionFrom = from;
            foreach (var k in e.Conditioning.Keys.Where(k => k < from).ToList())
            {
                e.Conditioning[k].Dispose();
                e.Conditioning.Remove(k);
            }
        }
        e.Lent = true;
        _denoiseStage.Tell(new DenoiseWork(e.Spec, chunk, e.Handle, e.Conditioning[from]), Self);
        if (!requester.Equals(Self)) _requesters[streamId] = requester;
    }

    private readonly Dictionary<string, IActorRef> _requesters = new();

    private void OnDenoised(ChunkDenoisedLocally d)
    {
        if (!_streams.TryGetValue(d.StreamId, out var e))
        {
            d.Latents.Dispose();
            return;
        }
        e.Settle();
        if (e.Closed)
        {
            d.Latents.Dispose();
            Free(e);
            return;
        }
        if (d.Chunk == e.Committed) e.Committed++;
        if (e.ReplayTo > 0)
        {
            d.Latents.Dispose();
            if (e.Committed < e.ReplayTo)
            {
                Lend(d.StreamId, e.Committed, Self);
                return;
            }
            e.ReplayTo = 0;
            e.OpenedReplyTo?.Tell(new StreamOpened(d.StreamId, e.Committed));
            e.OpenedReplyTo = null;
            return;
        }
        var latents = WireTensor.From(d.Latents);
        d.Latents.Dispose();
        if (_requesters.Remove(d.StreamId, out var requester)) requester.Tell(new ChunkDenoised(d.StreamId, d.Chunk, latents, d.Seconds));
    }

    private void OnFailed(StageJobFailed f)
    {
        if (!_streams.TryGetValue(f.StreamId, out var e)) return;
        e.Settle();
        if (e.Closed)
        {
            Free(e);
            return;
        }
        if (e.ReplayTo > 0)
        {
            e.OpenedReplyTo?.Tell(new OpenStreamFailed(f.StreamId, $"recomputing chunk {f.Chunk} failed: {f.Reason}", f.Kind));
            Close(f.StreamId);
            return;
        }
        if (_requesters.Remove(f.StreamId, out var requester)) requester.Tell(f);
    }

    private void Close(string streamId)
    {
        if (!_streams.TryGetValue(streamId, out var e) || e.Closed) return;
        e.Closed = true;
        _requesters.Remove(streamId);
        if (!e.Lent) Free(e); // else freed as soon as the chunk under way settles
    }

    private void Free(Entry e)
    {
        _streams.Remove(e.Spec.StreamId);
        _caches.Close(e.Handle, [.. e.Conditioning.Values, .. e.Retired]);
        e.Conditioning.Clear();
        e.Retired.Clear();
        if (!_streams.Values.Any(o => o.Session.Equals(e.Session)) && !e.Session.IsNobody()) Context.Unwatch(e.Session);
    }

    // The denoise worker may still be mid-chunk on a lent cache (its node stopping under a stream): the caches free
    // that one, and the conditioning it reads, when the call returns.
    protected override void PostStop()
    {
        foreach (var e in _streams.Values) _caches.Close(e.Handle, [.. e.Conditioning.Values, .. e.Retired]);
        _streams.Clear();
        _caches.CloseAll();
    }
}
