using SelfForcing.Actors.Engines;
using SelfForcing.Actors.Wire;

namespace SelfForcing.Actors.Stages;

/// <summary>
/// The decode stage's live decoder states, one per stream: the state each chunk produced, kept until the next chunk
/// of that stream has been decoded from it (a retry of that chunk starts from it again). The session holds only a
/// <see cref="DecoderSnapshot"/> reference (in-process) or its packed copy (from another node); a packed snapshot
/// that matches the state kept here is used without importing it.
/// Thread-safe, and a state is never freed while a worker decodes from it: the stream's release (a cancelled or
/// failed stream) and the stage's stop arrive on other threads, so freeing a leased state waits for its lease to end.
/// </summary>
public sealed class DecoderStates(IDecodeEngine engine) : IDisposable
{
    private readonly object _gate = new();
    private readonly Dictionary<string, IDecoderState> _latest = new();
    // Streams already released: a decode that finishes after the release frees its state at once.
    private readonly HashSet<string> _released = new();
    private readonly Queue<string> _releasedOrder = new();
    // Kept states a worker is decoding from, and those of them already dropped (freed when their lease ends).
    private readonly Dictionary<IDecoderState, int> _leases = new(ReferenceEqualityComparer.Instance);
    private readonly HashSet<IDecoderState> _dropped = new(ReferenceEqualityComparer.Instance);

    /// <summary>
    /// The state to decode from, held until the lease is disposed: a kept state stays alive meanwhile even if its
    /// stream is released; an imported or initial one belongs to the lease and is freed with it.
    /// </summary>
    public DecoderLease Lease(string streamId, DecoderSnapshot snapshot)
    {
        if (snapshot.Live is { } live)
        {
            lock (_gate)
            {
                // In-process the live state is the one kept here; gone means the stream ended before this job ran.
                if (!_latest.TryGetValue(streamId, out var kept) || !ReferenceEquals(kept, live))
                    throw new PermanentStageException($"the decoder state of stream '{streamId}' after chunk {live.ChunksDecoded} was already freed (the stream ended)");
                Hold(live);
            }
            return new DecoderLease(this, live, owned: false);
        }
        var parts = snapshot.Parts!;
        if (snapshot.IsStart) return new DecoderLease(this, engine.Initial(parts.Decoder), owned: true);
        lock (_gate)
        {
            if (_latest.TryGetValue(streamId, out var kept) && kept.ChunksDecoded == parts.ChunksDecoded)
            {
                Hold(kept);
                return new DecoderLease(this, kept, owned: false);
            }
        }
        return new DecoderLease(this, engine.Import(parts), owned: true);
    }

    /// <summary>Keeps <paramref name="next"/> as the stream's latest state and frees the one before it.</summary>
    public void Keep(string streamId, IDecoderState next)
    {
        IDecoderState? free;
        lock (_gate)
        {
            if (_released.Contains(streamId)) free = next;
            else
            {
                _latest.TryGetValue(streamId, out free);
                _latest[streamId] = next;
            }
            free = Droppable(free);
        }
        free?.Dispose();
    }

    public void Release(string streamId)
    {
        IDecoderState? old;
        lock (_gate)
        {
            _latest.Remove(streamId, out old);
            if (_released.Add(streamId)) _releasedOrder.Enqueue(streamId);
            while (_releasedOrder.Count > 4096) _released.Remove(_releasedOrder.Dequeue());
            old = Droppable(old);
        }
        old?.Dispose();
    }

    public int Count
    {
        get { lock (_gate) return _latest.Count; }
    }

    public void Dispose()
    {
        List<IDecoderState> free = [];
        lock (_gate)
        {
            foreach (var s in _latest.Values)
                if (Droppable(s) is { } d) free.Add(d);
            _latest.Clear();
        }
        foreach (var s in free) s.Dispose();
    }

    internal void Return(IDecoderState state, bool owned)
    {
        if (owned)
        {
            state.Dispose();
            return;
        }
        lock (_gate)
        {
            if (--_leases[state] > 0) return;
            _leases.Remove(state);
            if (!_dropped.Remove(state)) return;
        }
        state.Dispose();
    }

    private void Hold(IDecoderState state) => _leases[state] = _leases.GetValueOrDefault(state) + 1;

    // Under the gate: the state to free now, or null when a lease still holds it (its last lease frees it).
    private IDecoderState? Droppable(IDecoderState? state)
    {
        if (state is null || !_leases.ContainsKey(state)) return state;
        _dropped.Add(state);
        return null;
    }
}

/// <summary>A decoder state lent to one decode; disposing it gives the state back (or frees it, if the lease owned it).</summary>
public sealed class DecoderLease : IDisposable
{
    private readonly DecoderStates _owner;
    private readonly bool _owned;
    private int _returned;

    internal DecoderLease(DecoderStates owner, IDecoderState state, bool owned)
    {
        _owner = owner;
        _owned = owned;
        State = state;
    }

    public IDecoderState State { get; }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _returned, 1) == 0) _owner.Return(State, _owned);
    }
}
