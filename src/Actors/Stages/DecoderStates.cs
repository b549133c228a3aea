using SelfForcing.Actors.Engines;
using SelfForcing.Actors.Wire;

namespace SelfForcing.Actors.Stages;

/// <summary>
/// The decode stage's live decoder states, one per stream: the state each chunk produced, kept until the next chunk
/// of that stream has been decoded from it (a retry of that chunk starts from it again). The session holds only a
/// <see cref="DecoderSnapshot"/> reference (in-process) or its packed copy (from another node); a packed snapshot
/// that matches the state kept here is used without importing it. Thread-safe: workers restart on new threads.
/// </summary>
public sealed class DecoderStates(IDecodeEngine engine) : IDisposable
{
    private readonly object _gate = new();
    private readonly Dictionary<string, IDecoderState> _latest = new();
    // Streams already released: a decode that finishes after the release frees its state at once.
    private readonly HashSet<string> _released = new();
    private readonly Queue<string> _releasedOrder = new();

    /// <summary>The state to decode from, and whether the caller owns it (an import) and must dispose it.</summary>
    public (IDecoderState State, bool Owned) Resolve(string streamId, DecoderSnapshot snapshot)
    {
        if (snapshot.Live is { } live) return (live, false);
        var parts = snapshot.Parts!;
        if (snapshot.IsStart) return (engine.Initial(parts.Decoder), true);
        lock (_gate)
            if (_latest.TryGetValue(streamId, out var kept) && kept.ChunksDecoded == parts.ChunksDecoded) return (kept, false);
        return (engine.Import(parts), true);
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
        }
        old?.Dispose();
    }

    public int Count
    {
        get { lock (_gate) return _latest.Count; }
    }

    public void Dispose()
    {
        lock (_gate)
        {
            foreach (var s in _latest.Values) s.Dispose();
            _latest.Clear();
        }
    }
}
