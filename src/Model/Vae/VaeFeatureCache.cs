using TorchSharp;
using static TorchSharp.torch;

namespace SelfForcing.Model.Vae;

/// <summary>
/// The reference <c>feat_cache</c>/<c>feat_idx</c> pair: one slot per cached conv, visited in forward order by a
/// cursor that restarts for every latent frame (decoder) or pixel chunk (encoder). A slot is Empty, the
/// reference's <c>'Rep'</c> marker (decoder temporal upsampling after the first frame) or up to
/// <see cref="CacheT"/> past frames. Slot tensors live outside any dispose scope and are owned here.
/// </summary>
public sealed class VaeFeatureCache : IDisposable
{
    /// <summary>Past frames a kernel-3 causal conv needs (reference <c>CACHE_T</c>).</summary>
    public const int CacheT = 2;

    private readonly List<SlotState> _states = [];
    private readonly List<Tensor?> _tensors = [];
    private int _cursor;
    private bool _disposed;
    // Slot contents replaced during an open transaction, restored by Rollback (first replacement per slot only).
    private Dictionary<int, (SlotState State, Tensor? Frames)>? _journal;
    private int _journalSlotCount;

    public VaeFeatureCache(VaeFirstFramePolicy policy = VaeFirstFramePolicy.Reference) => Policy = policy;

    public VaeFirstFramePolicy Policy { get; }

    internal enum SlotState { Empty, Rep, Frames }

    /// <summary>Slots touched so far (the reference allocates one per CausalConv3d; unused ones never appear here).</summary>
    public int SlotCount => _states.Count;

    /// <summary>Total bytes held by cached frames.</summary>
    public long Bytes => _tensors.Where(t => t is not null).Sum(t => t!.NumberOfElements * t.ElementSize);

    internal void BeginPass() { ThrowIfDisposed(); _cursor = 0; }

    internal int NextSlot()
    {
        ThrowIfDisposed();
        int i = _cursor++;
        while (_states.Count <= i) { _states.Add(SlotState.Empty); _tensors.Add(null); }
        return i;
    }

    internal SlotState StateOf(int slot) => _states[slot];

    internal Tensor? FramesOf(int slot) => _tensors[slot];

    internal void SetFrames(int slot, Tensor frames)
    {
        var old = _tensors[slot];
        Retire(slot);
        _tensors[slot] = frames.DetachFromDisposeScope();
        _states[slot] = SlotState.Frames;
        if (old is not null && !ReferenceEquals(old, frames) && !IsJournaled(slot, old)) old.Dispose();
    }

    internal void SetRep(int slot)
    {
        var old = _tensors[slot];
        Retire(slot);
        _tensors[slot] = null;
        _states[slot] = SlotState.Rep;
        if (old is not null && !IsJournaled(slot, old)) old.Dispose();
    }

    private bool IsJournaled(int slot, Tensor t) =>
        _journal is not null && _journal.TryGetValue(slot, out var saved) && ReferenceEquals(saved.Frames, t);

    private void Retire(int slot)
    {
        if (_journal is not null && !_journal.ContainsKey(slot)) _journal[slot] = (_states[slot], _tensors[slot]);
    }

    /// <summary>From here until <see cref="Commit"/> or <see cref="Rollback"/>, replaced slot contents are kept so a failed step can be undone.</summary>
    internal void BeginTransaction()
    {
        ThrowIfDisposed();
        if (_journal is not null) throw new InvalidOperationException("VaeFeatureCache: a transaction is already open.");
        _journal = new Dictionary<int, (SlotState, Tensor?)>();
        _journalSlotCount = _states.Count;
    }

    internal void Commit()
    {
        if (_journal is null) return;
        foreach (var (slot, (_, frames)) in _journal)
            if (frames is not null && !ReferenceEquals(frames, _tensors[slot])) frames.Dispose();
        _journal = null;
    }

    internal void Rollback()
    {
        if (_journal is null) return;
        foreach (var (slot, (state, frames)) in _journal)
        {
            if (_tensors[slot] is { } current && !ReferenceEquals(current, frames)) current.Dispose();
            _tensors[slot] = frames;
            _states[slot] = state;
        }
        for (int i = _states.Count - 1; i >= _journalSlotCount; i--)
        {
            if (!_journal.ContainsKey(i)) _tensors[i]?.Dispose();
            _states.RemoveAt(i);
            _tensors.RemoveAt(i);
        }
        _journal = null;
    }

    /// <summary>Back to the state at the start of a video (all slots Empty); frees every cached tensor.</summary>
    public void Clear()
    {
        Rollback();
        foreach (var t in _tensors) t?.Dispose();
        _tensors.Clear();
        _states.Clear();
        _cursor = 0;
    }

    /// <summary>Deep copy (tensors cloned) that shares nothing with this cache.</summary>
    public VaeFeatureCache Clone()
    {
        ThrowIfDisposed();
        var copy = new VaeFeatureCache(Policy);
        using (no_grad())
        {
            for (int i = 0; i < _states.Count; i++)
            {
                copy._states.Add(_states[i]);
                copy._tensors.Add(_tensors[i] is { } t ? t.clone().DetachFromDisposeScope() : null);
            }
        }
        return copy;
    }

    internal (int[] Kinds, Tensor?[] Frames) Parts() => (_states.Select(k => (int)k).ToArray(), _tensors.ToArray());

    /// <summary>A cache holding <paramref name="frames"/> (owned from now on) in slots of the given kinds.</summary>
    internal static VaeFeatureCache FromParts(VaeFirstFramePolicy policy, int[] kinds, Tensor?[] frames)
    {
        if (kinds.Length != frames.Length) throw new ArgumentException($"{kinds.Length} slot kinds but {frames.Length} slot tensors");
        var cache = new VaeFeatureCache(policy);
        for (int i = 0; i < kinds.Length; i++)
        {
            var kind = kinds[i] is >= 0 and <= 2 ? (SlotState)kinds[i] : throw new ArgumentException($"slot {i} has unknown kind {kinds[i]}");
            if ((kind == SlotState.Frames) != (frames[i] is not null))
                throw new ArgumentException($"slot {i} is {kind} but {(frames[i] is null ? "has no frames" : "carries frames")}");
            cache._states.Add(kind);
            cache._tensors.Add(frames[i]?.DetachFromDisposeScope());
        }
        return cache;
    }

    /// <summary>Makes this cache a deep copy of <paramref name="source"/>.</summary>
    internal void CopyFrom(VaeFeatureCache source)
    {
        ThrowIfDisposed();
        if (source.Policy != Policy)
            throw new ArgumentException($"Cannot restore a {source.Policy} cache into a {Policy} decoder.");
        Clear();
        using (no_grad())
        {
            for (int i = 0; i < source._states.Count; i++)
            {
                _states.Add(source._states[i]);
                _tensors.Add(source._tensors[i] is { } t ? t.clone().DetachFromDisposeScope() : null);
            }
        }
    }

    /// <summary>
    /// Ordinary cached causal conv (reference <c>ResidualBlock</c>/<c>conv1</c>/<c>head</c> pattern): the conv sees
    /// the slot's frames as context, and the slot keeps the last <see cref="CacheT"/> frames of the conv's input
    /// (topped up with the previous last frame when the input has one frame).
    /// </summary>
    internal static Tensor CachedConv(CausalConv3d conv, Tensor x, VaeFeatureCache? cache)
    {
        if (cache is null) return conv.Forward(x, null);
        int slot = cache.NextSlot();
        var prev = cache.StateOf(slot) == SlotState.Frames ? cache.FramesOf(slot) : null;
        using var scope = NewDisposeScope();
        var next = LastFrames(x, prev);
        var y = conv.Forward(x, prev);
        cache.SetFrames(slot, next);
        return y.MoveToOuterDisposeScope();
    }

    /// <summary>Last <see cref="CacheT"/> frames of x, prefixed by <paramref name="prev"/>'s last frame when x has one frame.</summary>
    internal static Tensor LastFrames(Tensor x, Tensor? prev)
    {
        long t = x.shape[2];
        long keep = Math.Min(CacheT, t);
        var next = x.narrow(2, t - keep, keep).clone();
        if (keep < CacheT && prev is not null)
            next = cat([prev.narrow(2, prev.shape[2] - 1, 1).to(next.device), next], 2);
        return next;
    }

    private void ThrowIfDisposed() => ObjectDisposedException.ThrowIf(_disposed, this);

    public void Dispose()
    {
        if (_disposed) return;
        Clear();
        _disposed = true;
    }
}
