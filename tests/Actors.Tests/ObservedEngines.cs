using System.Collections.Concurrent;
using SelfForcing.Actors.Engines;
using SelfForcing.Model.Dit;
using static TorchSharp.torch;

namespace SelfForcing.Actors.Tests;

/// <summary>
/// Wraps the denoiser to see each stream's KV cache (to check that it is disposed), and optionally to hold one
/// chunk's denoising until the test releases it (so the cache is lent to the denoiser at a known moment).
/// </summary>
public sealed class ObservedDenoiseEngine(IDenoiseEngine inner, Func<StreamSpec, int, bool>? holdAt = null) : IDenoiseEngine
{
    public ConcurrentDictionary<string, KvCache> Caches { get; } = new();
    /// <summary>Tokens each stream had written after its last committed chunk (a disposed cache forgets its position).</summary>
    public ConcurrentDictionary<string, long> TokensWritten { get; } = new();
    /// <summary>Set when a held chunk has started denoising (its cache is lent).</summary>
    public ManualResetEventSlim Holding { get; } = new();
    /// <summary>Set by the test to let the held chunk finish.</summary>
    public ManualResetEventSlim Release { get; } = new();

    public Device Device => inner.Device;
    public int FramesPerChunk => inner.FramesPerChunk;
    public bool Rolling => inner.Rolling;

    public KvCache CreateCache(StreamSpec spec)
    {
        var cache = inner.CreateCache(spec);
        Caches[spec.StreamId] = cache;
        return cache;
    }

    public Tensor DenoiseChunk(KvCache cache, StreamSpec spec, int chunk, Tensor conditioning, Action<int>? onStep = null)
    {
        if (holdAt?.Invoke(spec, chunk) == true)
        {
            Holding.Set();
            if (!Release.Wait(TimeSpan.FromSeconds(30))) throw new TimeoutException("the test never released the held chunk");
        }
        return inner.DenoiseChunk(cache, spec, chunk, conditioning, onStep);
    }

    public void CommitChunk(KvCache cache, int chunk, Tensor x0, Tensor conditioning)
    {
        inner.CommitChunk(cache, chunk, x0, conditioning);
        foreach (var (id, c) in Caches)
            if (ReferenceEquals(c, cache)) TokensWritten[id] = cache.GlobalEnd;
    }

    public void Dispose() => inner.Dispose();
}

/// <summary>Wraps a decoder to keep a copy of every chunk's latents as the decode stage received them.</summary>
public sealed class RecordingDecodeEngine(IDecodeEngine inner) : IDecodeEngine
{
    private readonly ConcurrentQueue<Tensor> _all = new();

    public Device Device => inner.Device;
    public IReadOnlyCollection<string> Decoders => inner.Decoders;
    public IDecoderState Initial(string decoder) => inner.Initial(decoder);
    public IDecoderState Import(DecoderStateParts parts) => inner.Import(parts);

    /// <summary>Latents in the order the decode stage saw them.</summary>
    public IReadOnlyList<Tensor> All => _all.ToArray();

    public (Tensor Pixels, IDecoderState Next) Decode(string decoder, IDecoderState state, Tensor latents)
    {
        _all.Enqueue(latents.detach().cpu().contiguous().clone().DetachFromDisposeScope());
        return inner.Decode(decoder, state, latents);
    }

    public void Dispose()
    {
        foreach (var t in _all) t.Dispose();
        inner.Dispose();
    }
}
