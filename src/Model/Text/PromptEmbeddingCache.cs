using TorchSharp;
using static TorchSharp.torch;

namespace SelfForcing.Model.Text;

/// <summary>
/// Bounded LRU cache of per-prompt embeddings [L_i, dim] (real rows only; the zero rows are re-created on read).
/// Owns its tensors: they are detached from dispose scopes on insert and disposed on eviction or Clear.
/// Not thread-safe; <see cref="TextEncoder"/> serialises access.
/// </summary>
public sealed class PromptEmbeddingCache : IDisposable
{
    private readonly Dictionary<string, LinkedListNode<(string Prompt, Tensor Rows)>> _map = new(StringComparer.Ordinal);
    private readonly LinkedList<(string Prompt, Tensor Rows)> _order = new();

    public PromptEmbeddingCache(int capacity)
    {
        if (capacity < 0) throw new ArgumentOutOfRangeException(nameof(capacity), capacity, "Cache capacity cannot be negative.");
        Capacity = capacity;
    }

    public int Capacity { get; }
    public int Count => _map.Count;
    public long Hits { get; private set; }
    public long Misses { get; private set; }

    /// <summary>The cached rows (owned by the cache: do not dispose), marking the entry most recently used.</summary>
    public bool TryGet(string prompt, out Tensor rows)
    {
        if (_map.TryGetValue(prompt, out var node))
        {
            _order.Remove(node);
            _order.AddFirst(node);
            rows = node.Value.Rows;
            Hits++;
            return true;
        }
        rows = null!;
        Misses++;
        return false;
    }

    /// <summary>Stores a copy of <paramref name="rows"/>; the least recently used entry is evicted when full.</summary>
    public void Put(string prompt, Tensor rows)
    {
        if (Capacity == 0) return;
        if (_map.TryGetValue(prompt, out var existing))
        {
            _order.Remove(existing);
            _map.Remove(prompt);
            existing.Value.Rows.Dispose();
        }
        while (_map.Count >= Capacity)
        {
            var last = _order.Last!;
            _order.RemoveLast();
            _map.Remove(last.Value.Prompt);
            last.Value.Rows.Dispose();
        }
        var copy = rows.detach().clone().DetachFromDisposeScope();
        _map[prompt] = _order.AddFirst((prompt, copy));
    }

    public void Clear()
    {
        foreach (var (_, rows) in _order) rows.Dispose();
        _order.Clear();
        _map.Clear();
    }

    public void Dispose() => Clear();
}
