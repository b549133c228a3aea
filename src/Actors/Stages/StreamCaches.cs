using SelfForcing.Actors.Engines;
using SelfForcing.Actors.Messages;
using SelfForcing.Model.Dit;
using static TorchSharp.torch;

namespace SelfForcing.Actors.Stages;

/// <summary>An opaque name for one stream's KV cache on one denoiser node; only that node can resolve it.</summary>
public sealed record CacheHandle(long Id);

/// <summary>
/// The denoiser node's caches behind handles: the port the denoise stage works through. The cache owner opens and
/// closes handles (one actor thread); the denoise worker uses them (its own thread). A cache closed while a call is
/// under way on it (the owner stopping with its node, a stream ended mid-chunk) is freed when that call returns,
/// never under it: freeing tensors a native op still reads is a crash, not an exception.
/// </summary>
public sealed class StreamCaches(IDenoiseEngine engine)
{
    private readonly object _gate = new();
    private readonly Dictionary<long, KvCache> _caches = new();
    private readonly Dictionary<long, int> _busy = new();
    // Closed while busy: what the last call to return frees (the cache, and what the owner handed over with it).
    private readonly Dictionary<long, List<IDisposable>> _closing = new();
    private long _next;

    public IDenoiseEngine Engine => engine;

    public CacheHandle Open(StreamSpec spec)
    {
        var cache = engine.CreateCache(spec);
        var handle = new CacheHandle(Interlocked.Increment(ref _next));
        lock (_gate) _caches[handle.Id] = cache;
        return handle;
    }

    public Tensor DenoiseChunk(CacheHandle handle, StreamSpec spec, int chunk, Tensor conditioning, Action<int>? onStep)
    {
        var cache = Acquire(handle);
        try { return engine.DenoiseChunk(cache, spec, chunk, conditioning, onStep); }
        finally { Return(handle); }
    }

    public void CommitChunk(CacheHandle handle, int chunk, Tensor x0, Tensor conditioning)
    {
        var cache = Acquire(handle);
        try { engine.CommitChunk(cache, chunk, x0, conditioning); }
        finally { Return(handle); }
    }

    /// <summary>A prompt switch: new text keys/values from the next chunk on, the same self-attention history.</summary>
    public void ClearCrossAttention(CacheHandle handle)
    {
        var cache = Acquire(handle);
        try { cache.ClearCrossAttention(); }
        finally { Return(handle); }
    }

    public long Bytes(CacheHandle handle)
    {
        lock (_gate) return _caches.TryGetValue(handle.Id, out var c) ? c.AllocatedBytes : 0;
    }

    /// <summary>Closes the handle and frees its cache and <paramref name="alsoFree"/> (tensors the calls on it read)
    /// now, or when the call under way on it returns.</summary>
    public void Close(CacheHandle handle, IEnumerable<IDisposable>? alsoFree = null)
    {
        List<IDisposable> free = [];
        lock (_gate)
        {
            if (_caches.Remove(handle.Id, out var c)) free.Add(c);
            if (alsoFree is not null) free.AddRange(alsoFree);
            if (free.Count == 0) return;
            if (_busy.ContainsKey(handle.Id))
            {
                if (_closing.TryGetValue(handle.Id, out var later)) later.AddRange(free);
                else _closing[handle.Id] = free;
                return;
            }
        }
        foreach (var d in free) d.Dispose();
    }

    public void CloseAll()
    {
        List<long> ids;
        lock (_gate) ids = [.. _caches.Keys];
        foreach (var id in ids) Close(new CacheHandle(id));
    }

    private KvCache Acquire(CacheHandle handle)
    {
        lock (_gate)
        {
            if (!_caches.TryGetValue(handle.Id, out var c)) throw new InvalidOperationException($"cache handle {handle.Id} is closed (the stream ended)");
            _busy[handle.Id] = _busy.GetValueOrDefault(handle.Id) + 1;
            return c;
        }
    }

    private void Return(CacheHandle handle)
    {
        List<IDisposable>? free = null;
        lock (_gate)
        {
            if (--_busy[handle.Id] > 0) return;
            _busy.Remove(handle.Id);
            _closing.Remove(handle.Id, out free);
        }
        if (free is not null) foreach (var d in free) d.Dispose();
    }
}

/// <summary>Cache owner → its node's denoise stage (local only: it carries a tensor on the denoiser's device).</summary>
public sealed record DenoiseWork(StreamSpec Spec, int Chunk, CacheHandle Cache, Tensor Conditioning) : IStageJob, Akka.Actor.INoSerializationVerificationNeeded
{
    public Stage Stage => Stage.Denoise;
    public string StreamId => Spec.StreamId;
}

/// <summary>The denoise stage's answer inside the node: x0 latents on the denoiser's device.</summary>
public sealed record ChunkDenoisedLocally(string StreamId, int Chunk, Tensor Latents, double Seconds) : IStageResult, Akka.Actor.INoSerializationVerificationNeeded;
