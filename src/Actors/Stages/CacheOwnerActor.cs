using Akka.Actor;
using SelfForcing.Actors.Engines;
using SelfForcing.Actors.Messages;
using SelfForcing.Model.Dit;
using TorchSharp;
using static TorchSharp.torch;

namespace SelfForcing.Actors.Stages;

/// <summary>
/// Holds every stream's KV cache and conditioning on the denoiser's device, independent of the denoise worker's
/// life. It lends a stream's cache to the denoise stage one chunk at a time (only the next uncommitted chunk) and
/// advances the stream's committed count when the chunk's context pass has finished.
/// </summary>
public sealed class CacheOwnerActor : ReceiveActor
{
    private sealed class Entry(StreamSpec spec, KvCache cache, Tensor conditioning)
    {
        public StreamSpec Spec { get; } = spec;
        public KvCache Cache { get; } = cache;
        public Tensor Conditioning { get; set; } = conditioning;
        public int Committed { get; set; }
        public bool Lent { get; set; }
        /// <summary>A switched prompt's conditioning, waiting for the first chunk it applies to.</summary>
        public (int FromChunk, Tensor Conditioning)? Switch { get; set; }

        public void Dispose()
        {
            Cache.Dispose();
            Conditioning.Dispose();
            Switch?.Conditioning.Dispose();
            Switch = null;
        }
    }

    private readonly IDenoiseEngine _engine;
    private readonly IActorRef _denoiseStage;
    private readonly Dictionary<string, Entry> _streams = new();
    // Released while the denoiser still used them: freed as soon as that chunk settles.
    private readonly Dictionary<string, Entry> _released = new();

    public CacheOwnerActor(IDenoiseEngine engine, IActorRef denoiseStage)
    {
        _engine = engine;
        _denoiseStage = denoiseStage;
        Receive<AllocateCache>(Allocate);
        Receive<DenoiseRequest>(Lend);
        Receive<CommitChunk>(c =>
        {
            Settle(c.StreamId);
            if (_streams.TryGetValue(c.StreamId, out var e) && c.Chunk == e.Committed) e.Committed++;
        });
        Receive<DenoiseSettled>(s => Settle(s.StreamId));
        Receive<SwitchConditioning>(Switch);
        Receive<ReleaseCache>(r =>
        {
            if (!_streams.Remove(r.StreamId, out var e)) return;
            if (e.Lent) _released[r.StreamId] = e;
            else e.Dispose();
        });
        Receive<GetCacheState>(_ => Sender.Tell(new CacheState(
            _streams.ToDictionary(kv => kv.Key, kv => kv.Value.Committed), _streams.Values.Sum(e => e.Cache.AllocatedBytes))));
    }

    public static Props Props(IDenoiseEngine engine, IActorRef denoiseStage) =>
        Akka.Actor.Props.Create(() => new CacheOwnerActor(engine, denoiseStage));

    private void Allocate(AllocateCache a)
    {
        try
        {
            if (_streams.ContainsKey(a.Spec.StreamId)) throw new InvalidOperationException("stream already has a cache");
            var cache = _engine.CreateCache(a.Spec);
            // The message hands over the tensor; keep it, or a copy on the denoiser's device.
            _streams[a.Spec.StreamId] = new Entry(a.Spec, cache, OnDevice(a.Conditioning));
            Sender.Tell(new CacheAllocated(a.Spec.StreamId));
        }
        catch (Exception e)
        {
            a.Conditioning.Dispose();
            string reason = StageSupervisor.IsOutOfMemory(e) ? $"device out of memory allocating the KV cache: {e.Message}" : e.Message;
            Sender.Tell(new CacheAllocationFailed(a.Spec.StreamId, reason));
        }
    }

    private void Switch(SwitchConditioning m)
    {
        if (!_streams.TryGetValue(m.StreamId, out var e))
        {
            m.Conditioning.Dispose();
            return;
        }
        e.Switch?.Conditioning.Dispose();
        e.Switch = (m.FromChunk, OnDevice(m.Conditioning));
    }

    private Tensor OnDevice(Tensor t)
    {
        bool same = t.device_type == _engine.Device.type && (t.device_type == DeviceType.CPU || t.device_index == _engine.Device.index);
        if (same) return t;
        var moved = t.to(_engine.Device).DetachFromDisposeScope();
        t.Dispose();
        return moved;
    }

    private void Lend(DenoiseRequest r)
    {
        if (!_streams.TryGetValue(r.StreamId, out var e))
        {
            Sender.Tell(new StageJobFailed(Stage.Denoise, r.StreamId, r.Chunk, 0, "the stream holds no KV cache (cancelled or finished)", false));
            return;
        }
        if (r.Chunk != e.Committed)
        {
            Sender.Tell(new StageJobFailed(Stage.Denoise, r.StreamId, r.Chunk, 0, $"chunk {r.Chunk} requested but {e.Committed} chunks are committed", false));
            return;
        }
        if (e.Switch is { } sw && r.Chunk >= sw.FromChunk)
        {
            // The chunk boundary of a prompt switch: new text keys/values, same self-attention history.
            e.Conditioning.Dispose();
            e.Conditioning = sw.Conditioning;
            e.Switch = null;
            e.Cache.ClearCrossAttention();
        }
        e.Lent = true;
        _denoiseStage.Tell(new DenoiseJob(e.Spec, r.Chunk, e.Cache, e.Conditioning), Sender);
    }

    private void Settle(string streamId)
    {
        if (_streams.TryGetValue(streamId, out var live)) live.Lent = false;
        if (_released.Remove(streamId, out var e)) e.Dispose();
    }

    protected override void PostStop()
    {
        foreach (var e in _streams.Values.Concat(_released.Values)) e.Dispose();
        _streams.Clear();
        _released.Clear();
    }
}

/// <summary>The denoise stage gave up on a stream's chunk: its cache is no longer in use.</summary>
public sealed record DenoiseSettled(string StreamId);

/// <summary>A new prompt's conditioning for chunks from <paramref name="FromChunk"/> on; ownership of the tensor passes to the cache owner.</summary>
public sealed record SwitchConditioning(string StreamId, int FromChunk, Tensor Conditioning);
