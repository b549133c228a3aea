using TorchSharp;
using static TorchSharp.torch;

namespace SelfForcing.Model.Dit;

/// <summary>
/// One stream's attention state: per layer, the RoPE'd self-attention keys/values written chunk by chunk and
/// the cross-attention keys/values of the prompt (computed once).
/// <para>
/// Global mode keeps every token at its absolute slot, exactly like the reference. Rolling mode (sink +
/// window) keeps the same <em>set</em> of tokens as the reference's shift-left eviction, but as a ring: the sink
/// frames at the front, then token g at slot sink + (g − sink) mod window. Attention is a sum over keys, so
/// the slot order does not change the result, and eviction costs nothing — no per-chunk copy of the cache.
/// In both modes the valid keys are always the prefix [0, min(written, capacity)).
/// </para>
/// </summary>
public sealed class KvCache : IDisposable
{
    private readonly Tensor[] _k;
    private readonly Tensor[] _v;
    private readonly Tensor?[] _crossK;
    private readonly Tensor?[] _crossV;
    private long _lastCallTokens;
    // Gradient-carrying writes per layer, by start token: the keys/values (with their graph) that a gradient-enabled
    // call wrote over slots [start, start + n). Only used in CacheGradient.Reference mode; see WriteAndReadWithGradient.
    private readonly SortedDictionary<long, (Tensor K, Tensor V)>[] _gradientWrites;

    public int Layers { get; }
    public long Batch { get; }
    public long TokensPerFrame { get; }
    public long CapacityTokens { get; }
    public long SinkTokens { get; }
    public bool Rolling { get; }
    public Device Device { get; }
    public ScalarType DType { get; }

    /// <summary>How gradient-carrying calls (training) see the keys/values that earlier calls cached.</summary>
    public CacheGradient GradientMode { get; set; } = CacheGradient.Reference;

    /// <summary>
    /// Frames subtracted from absolute frame indices before RoPE. Stays 0 until a rolling stream nears the RoPE
    /// table's end (<see cref="RopeFrameLimit"/>); see <see cref="ShiftRope"/>.
    /// </summary>
    public long RopeFrameShift { get; private set; }

    /// <summary>Highest RoPE frame position + 1 a call may use before the rolling cache is re-based (tests lower it).</summary>
    public long RopeFrameLimit { get; set; } = RotaryEmbedding.MaxPositions;

    /// <summary>Absolute token index just past the last token written (reference <c>global_end_index</c>).</summary>
    public long GlobalEnd { get; private set; }

    /// <summary>True once <see cref="Dispose"/> has freed the buffers (lets owners and tests see that a cache was released).</summary>
    public bool IsDisposed { get; private set; }

    /// <summary>Number of valid key slots, always a prefix of the buffers (reference <c>local_end_index</c>).</summary>
    public long ValidTokens => Math.Min(GlobalEnd, CapacityTokens);

    private KvCache(int layers, long batch, long heads, long headDim, long tokensPerFrame, long capacityTokens, long sinkTokens,
        bool rolling, Device device, ScalarType dtype)
    {
        Layers = layers; Batch = batch; TokensPerFrame = tokensPerFrame; CapacityTokens = capacityTokens;
        SinkTokens = sinkTokens; Rolling = rolling; Device = device; DType = dtype;
        _k = new Tensor[layers];
        _v = new Tensor[layers];
        _crossK = new Tensor?[layers];
        _crossV = new Tensor?[layers];
        _gradientWrites = new SortedDictionary<long, (Tensor K, Tensor V)>[layers];
        for (int i = 0; i < layers; i++) _gradientWrites[i] = new SortedDictionary<long, (Tensor K, Tensor V)>();
        for (int i = 0; i < layers; i++)
        {
            _k[i] = zeros([batch, capacityTokens, heads, headDim], dtype, device);
            _v[i] = zeros([batch, capacityTokens, heads, headDim], dtype, device);
        }
    }

    /// <summary>
    /// Allocates a cache for one stream. Global attention (<c>config.LocalAttnSize == -1</c>) holds
    /// <paramref name="capacityFrames"/> latent frames; rolling attention holds <c>LocalAttnSize</c> frames of which
    /// the first <c>SinkSize</c> frames are never evicted, and accepts an unbounded stream.
    /// </summary>
    public static KvCache Allocate(WanConfig config, long batch, int capacityFrames, long latentHeight, long latentWidth,
        Device device, ScalarType dtype)
    {
        if (batch <= 0) throw new ArgumentOutOfRangeException(nameof(batch), "batch must be positive");
        if (latentHeight % config.PatchSize[1] != 0 || latentWidth % config.PatchSize[2] != 0)
            throw new ArgumentException($"latent {latentHeight}x{latentWidth} is not divisible by the patch size");
        long tokensPerFrame = latentHeight / config.PatchSize[1] * (latentWidth / config.PatchSize[2]);
        bool rolling = config.LocalAttnSize > 0;
        int frames = rolling ? config.LocalAttnSize : capacityFrames;
        if (frames <= 0) throw new ArgumentOutOfRangeException(nameof(capacityFrames), "cache capacity must be at least one frame");
        return new KvCache(config.NumLayers, batch, config.NumHeads, config.HeadDim, tokensPerFrame, frames * tokensPerFrame,
            rolling ? config.SinkSize * tokensPerFrame : 0, rolling, device, dtype);
    }

    /// <summary>Bytes held by the self- and cross-attention buffers.</summary>
    public long AllocatedBytes
    {
        get
        {
            long total = 0;
            foreach (var t in _k.Concat(_v).Concat(_crossK).Concat(_crossV))
                if (t is not null) total += t.numel() * t.element_size();
            return total;
        }
    }

    /// <summary>
    /// Registers a forward call over tokens [currentStart, currentStart + n). A call either starts the next
    /// chunk (currentStart == GlobalEnd) or repeats the last one (a later denoising step, the context pass, or a
    /// retry after a failure), which overwrites the same slots.
    /// </summary>
    public void BeginCall(long currentStart, long n)
    {
        if (n <= 0 || n % TokensPerFrame != 0 || currentStart % TokensPerFrame != 0)
            throw new ArgumentException($"cache call must cover whole frames of {TokensPerFrame} tokens (start {currentStart}, length {n})");
        long end = currentStart + n;
        bool next = currentStart == GlobalEnd;
        bool repeat = end == GlobalEnd && n == _lastCallTokens;
        if (!next && !repeat)
            throw new InvalidOperationException(
                $"cache call at tokens [{currentStart}, {end}) is neither the next chunk (start {GlobalEnd}) nor a repeat of the last one");
        if (!Rolling && end > CapacityTokens)
            throw new InvalidOperationException(
                $"stream exceeds the KV cache capacity of {CapacityTokens / TokensPerFrame} latent frames; " +
                "allocate more frames or use rolling attention (local_attn_size) for long streams");
        if (Rolling && n > CapacityTokens - SinkTokens)
            throw new InvalidOperationException($"a call of {n} tokens does not fit the rolling window of {CapacityTokens - SinkTokens} tokens");
        GlobalEnd = end;
        _lastCallTokens = n;
    }

    /// <summary>Writes this call's keys/values [B, n, N, d] for one layer and returns the valid keys and values.</summary>
    public (Tensor K, Tensor V) WriteAndRead(int layer, long currentStart, Tensor k, Tensor v)
    {
        long n = k.shape[1];
        foreach (var (src, dst, len) in Segments(currentStart, n))
        {
            _k[layer].narrow(1, dst, len).copy_(k.narrow(1, src, len));
            _v[layer].narrow(1, dst, len).copy_(v.narrow(1, src, len));
        }
        long valid = ValidTokens;
        return (_k[layer].narrow(1, 0, valid), _v[layer].narrow(1, 0, valid));
    }

    /// <summary>
    /// The training path of <see cref="WriteAndRead"/> for a call whose keys/values carry gradient. The buffers receive
    /// detached copies (so later in-place writes never invalidate a saved activation, and no checkpointing is needed),
    /// and the call attends over <c>[earlier tokens ; its own k/v]</c> built as new tensors. The keys and values attended are
    /// exactly those <see cref="WriteAndRead"/> returns (only the tensor holding them differs); what differs is where the
    /// gradient of the earlier tokens goes:
    /// <list type="bullet">
    /// <item><see cref="CacheGradient.Detached"/>: nowhere — cached keys are constants (the paper's Algorithm 1).</item>
    /// <item><see cref="CacheGradient.Reference"/>: into the gradient-carrying call that last wrote those slots, as the
    /// reference's in-place cache writes under checkpointing route it (its CopySlices node), even though the values read
    /// are the later no-grad context re-run's. Built as <c>cached.detach() + (k_w − k_w.detach())</c>: the value of the
    /// cache, the gradient of the writer k_w.</item>
    /// </list>
    /// Global (non-rolling) caches only: the reference trains with global attention.
    /// </summary>
    public (Tensor K, Tensor V) WriteAndReadWithGradient(int layer, long currentStart, Tensor k, Tensor v)
    {
        if (Rolling) throw new NotSupportedException("gradient through a rolling KV cache is not supported (training uses global attention)");
        long n = k.shape[1];
        using (no_grad())
        {
            _k[layer].narrow(1, currentStart, n).copy_(k.detach());
            _v[layer].narrow(1, currentStart, n).copy_(v.detach());
        }
        var keys = new List<Tensor>();
        var values = new List<Tensor>();
        long at = 0;
        if (GradientMode == CacheGradient.Reference)
        {
            foreach (var (start, wk, wv) in EarlierGradientWrites(layer, currentStart))
            {
                long len = wk.shape[1];
                if (start > at)
                {
                    keys.Add(_k[layer].narrow(1, at, start - at).detach());
                    values.Add(_v[layer].narrow(1, at, start - at).detach());
                }
                keys.Add(_k[layer].narrow(1, start, len).detach() + (wk - wk.detach()));
                values.Add(_v[layer].narrow(1, start, len).detach() + (wv - wv.detach()));
                at = start + len;
            }
            RecordGradientWrite(layer, currentStart, k, v);
        }
        if (currentStart > at)
        {
            keys.Add(_k[layer].narrow(1, at, currentStart - at).detach());
            values.Add(_v[layer].narrow(1, at, currentStart - at).detach());
        }
        keys.Add(k);
        values.Add(v);
        return (cat(keys, 1), cat(values, 1));
    }

    // The gradient-carrying writes that lie wholly before currentStart, in slot order (Reference mode only).
    private IEnumerable<(long Start, Tensor K, Tensor V)> EarlierGradientWrites(int layer, long currentStart)
    {
        foreach (var (start, (wk, wv)) in _gradientWrites[layer])
        {
            if (start + wk.shape[1] > currentStart) yield break;
            yield return (start, wk, wv);
        }
    }

    /// <summary>Records k/v (with their graph) as the gradient-carrying write over slots [currentStart, currentStart + n).</summary>
    internal void RecordGradientWrite(int layer, long currentStart, Tensor k, Tensor v)
    {
        if (GradientMode != CacheGradient.Reference) return;
        var previous = _gradientWrites[layer].TryGetValue(currentStart, out var old) ? old : default;
        _gradientWrites[layer][currentStart] = (k.alias().DetachFromDisposeScope(), v.alias().DetachFromDisposeScope());
        previous.K?.Dispose();
        previous.V?.Dispose();
    }

    /// <summary>
    /// What a checkpointed gradient-carrying call (<see cref="CheckpointedCachedBlock"/>) attends before its own tokens,
    /// without copying: views of slots [0, currentStart) of one layer's buffers, and (Reference mode) the earlier
    /// gradient-carrying writes whose slots they cover, where gradient to those keys/values goes (as
    /// <see cref="WriteAndReadWithGradient"/> routes it). The views stay valid until backward: a global cache only ever
    /// writes at or after the last call's start (<see cref="BeginCall"/>), so these slots are not written again unless the
    /// cache is <see cref="Reset"/> (<see cref="Epoch"/> changes; the checkpoint checks it).
    /// </summary>
    internal CachedPrefix CheckpointPrefix(int layer, long currentStart)
    {
        if (Rolling) throw new NotSupportedException("gradient through a rolling KV cache is not supported (training uses global attention)");
        var writers = GradientMode == CacheGradient.Reference ? EarlierGradientWrites(layer, currentStart).ToList() : [];
        return new CachedPrefix(this, Epoch, _k[layer].narrow(1, 0, currentStart).detach(), _v[layer].narrow(1, 0, currentStart).detach(), writers);
    }

    /// <summary>Writes a checkpointed call's own keys/values [B, n, N, d] into its slots (values only, no graph).</summary>
    internal void WriteOwn(int layer, long currentStart, Tensor k, Tensor v)
    {
        if (Rolling) throw new NotSupportedException("gradient through a rolling KV cache is not supported (training uses global attention)");
        using (no_grad())
        {
            _k[layer].narrow(1, currentStart, k.shape[1]).copy_(k);
            _v[layer].narrow(1, currentStart, v.shape[1]).copy_(v);
        }
    }

    /// <summary>Changes whenever slots before the write position may be written again (<see cref="Reset"/>).</summary>
    public long Epoch { get; private set; }

    /// <summary>Drops the recorded gradient-carrying writes (after backward, or to start a new rollout on this cache).</summary>
    public void ClearGradientHistory()
    {
        foreach (var layer in _gradientWrites)
        {
            foreach (var (k, v) in layer.Values) { k.Dispose(); v.Dispose(); }
            layer.Clear();
        }
    }

    // Where tokens [start, start+n) live: at most two contiguous runs in rolling mode (the ring may wrap).
    private IEnumerable<(long Src, long Dst, long Len)> Segments(long start, long n)
    {
        long i = 0;
        while (i < n)
        {
            long slot = Slot(start + i);
            long run = Rolling && slot >= SinkTokens ? Math.Min(n - i, CapacityTokens - slot) : Math.Min(n - i, SinkTokens - slot);
            if (!Rolling) run = n - i;
            yield return (i, slot, run);
            i += run;
        }
    }

    private long Slot(long token)
    {
        if (!Rolling || token < SinkTokens) return token;
        long window = CapacityTokens - SinkTokens;
        return SinkTokens + (token - SinkTokens) % window;
    }

    /// <summary>
    /// Moves every cached key <paramref name="frames"/> frames back in RoPE position (<paramref name="rotate"/> does the
    /// rotation) and shifts later positions likewise. Attention scores under RoPE depend only on the difference of
    /// query and key positions, so every score is unchanged (up to rounding), while positions stay inside the
    /// 1,024-row table: a rolling stream can run past the reference's limit. Values carry no position and stay.
    /// </summary>
    public void ShiftRope(long frames, Func<Tensor, Tensor> rotate)
    {
        if (!Rolling) throw new InvalidOperationException("only a rolling cache can be re-based: a global cache holds every frame from 0");
        if (frames <= 0) throw new ArgumentOutOfRangeException(nameof(frames), "the shift must be positive");
        long valid = ValidTokens;
        for (int i = 0; i < Layers; i++)
        {
            using var scope = NewDisposeScope();
            var keys = _k[i].narrow(1, 0, valid);
            keys.copy_(rotate(keys));
        }
        RopeFrameShift += frames;
    }

    public bool CrossAttentionReady(int layer) => _crossK[layer] is not null;

    public (Tensor K, Tensor V) CrossAttention(int layer) =>
        (_crossK[layer] ?? throw new InvalidOperationException($"cross-attention cache of layer {layer} is empty"), _crossV[layer]!);

    public void SetCrossAttention(int layer, Tensor k, Tensor v)
    {
        _crossK[layer]?.Dispose();
        _crossV[layer]?.Dispose();
        _crossK[layer] = k.detach().clone().DetachFromDisposeScope();
        _crossV[layer] = v.detach().clone().DetachFromDisposeScope();
    }

    /// <summary>Reference layout of one layer's self-attention keys/values: valid tokens in stream order (for tests).</summary>
    public (Tensor K, Tensor V) OrderedSelfAttention(int layer)
    {
        long valid = ValidTokens;
        if (!Rolling || GlobalEnd <= CapacityTokens)
            return (_k[layer].narrow(1, 0, valid).clone(), _v[layer].narrow(1, 0, valid).clone());
        long firstWindowToken = GlobalEnd - (CapacityTokens - SinkTokens);
        var slots = new List<long>();
        for (long t = 0; t < SinkTokens; t++) slots.Add(t);
        for (long t = firstWindowToken; t < GlobalEnd; t++) slots.Add(Slot(t));
        using var idx = tensor(slots.ToArray(), ScalarType.Int64, _k[layer].device);
        return (_k[layer].index_select(1, idx), _v[layer].index_select(1, idx));
    }

    /// <summary>Forgets the stream: positions back to zero, cross-attention cleared (new prompt).</summary>
    public void Reset()
    {
        if (!IsDisposed) Epoch++; // a disposed cache is never written again: views of its buffers stay as they were
        GlobalEnd = 0;
        _lastCallTokens = 0;
        RopeFrameShift = 0;
        ClearCrossAttention();
        ClearGradientHistory();
    }

    /// <summary>
    /// Drops the prompt's cross-attention keys/values but keeps every self-attention key: the next call rebuilds
    /// them from its (new) text context while attending to the frames already generated, so motion continues
    /// under a switched prompt.
    /// </summary>
    public void ClearCrossAttention()
    {
        for (int i = 0; i < Layers; i++)
        {
            _crossK[i]?.Dispose(); _crossK[i] = null;
            _crossV[i]?.Dispose(); _crossV[i] = null;
        }
    }

    public void Dispose()
    {
        IsDisposed = true;
        foreach (var t in _k) t.Dispose();
        foreach (var t in _v) t.Dispose();
        Reset();
    }
}

/// <summary>
/// One layer's keys/values before a checkpointed call (views into the cache's buffers) and the earlier gradient-carrying
/// writes among them; see <see cref="KvCache.CheckpointPrefix"/>.
/// </summary>
internal sealed record CachedPrefix(KvCache Cache, long Epoch, Tensor K, Tensor V, IReadOnlyList<(long Start, Tensor K, Tensor V)> Writers)
{
    /// <summary>Throws if the slots these views cover may have been written since (the cache was reset and reused).</summary>
    public void AssertUnchanged()
    {
        if (Cache.Epoch != Epoch)
            throw new InvalidOperationException("the KV cache was reset between a checkpointed call and its backward: the recomputation would read other keys");
    }
}

/// <summary>What gradient-carrying calls (training) do with the keys/values earlier calls cached; see <see cref="KvCache.WriteAndReadWithGradient"/>.</summary>
public enum CacheGradient
{
    /// <summary>The reference as trained (checkpointed, in-place writes): gradient to cached slots reaches the call that wrote them with gradient.</summary>
    Reference,
    /// <summary>Cached keys/values are constants (the paper's detached cache).</summary>
    Detached,
}
