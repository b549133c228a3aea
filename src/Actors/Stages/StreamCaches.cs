using System.Collections.Concurrent;
using SelfForcing.Actors.Engines;
using SelfForcing.Actors.Messages;
using SelfForcing.Model.Dit;
using static TorchSharp.torch;

namespace SelfForcing.Actors.Stages;

/// <summary>An opaque name for one stream's KV cache on one denoiser node; only that node can resolve it.</summary>
public sealed record CacheHandle(long Id);

/// <summary>
/// The denoiser node's caches behind handles: the port the denoise stage works through. The cache owner opens and
/// closes handles (one actor thread); the denoise worker resolves them (its own thread) — hence the concurrent map.
/// </summary>
public sealed class StreamCaches(IDenoiseEngine engine)
{
    private readonly ConcurrentDictionary<long, KvCache> _caches = new();
    private long _next;

    public IDenoiseEngine Engine => engine;

    public CacheHandle Open(StreamSpec spec)
    {
        var cache = engine.CreateCache(spec);
        var handle = new CacheHandle(Interlocked.Increment(ref _next));
        _caches[handle.Id] = cache;
        return handle;
    }

    private KvCache Resolve(CacheHandle handle) =>
        _caches.TryGetValue(handle.Id, out var c) ? c : throw new InvalidOperationException($"cache handle {handle.Id} is closed (the stream ended)");

    public Tensor DenoiseChunk(CacheHandle handle, StreamSpec spec, int chunk, Tensor conditioning, Action<int>? onStep) =>
        engine.DenoiseChunk(Resolve(handle), spec, chunk, conditioning, onStep);

    public void CommitChunk(CacheHandle handle, int chunk, Tensor x0, Tensor conditioning) => engine.CommitChunk(Resolve(handle), chunk, x0, conditioning);

    /// <summary>A prompt switch: new text keys/values from the next chunk on, the same self-attention history.</summary>
    public void ClearCrossAttention(CacheHandle handle) => Resolve(handle).ClearCrossAttention();

    public long Bytes(CacheHandle handle) => _caches.TryGetValue(handle.Id, out var c) ? c.AllocatedBytes : 0;

    public void Close(CacheHandle handle)
    {
        if (_caches.TryRemove(handle.Id, out var c)) c.Dispose();
    }

    public void CloseAll()
    {
        foreach (var id in _caches.Keys) Close(new CacheHandle(id));
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
