using static TorchSharp.torch;

namespace SelfForcing.Model.Taehv;

/// <summary>
/// Streaming TAEHV for one stream: keeps each MemBlock's last input frame between chunks, so decoding chunk by
/// chunk gives exactly the whole-video result (no re-decoding of an overlap, unlike the demo). Emits pixels in
/// [−1, 1] with the first <see cref="TaehvConfig.FramesToTrim"/> warm-up frames of the video dropped, which gives
/// the Wan VAE's frame count: 1 + 4(T−1) for the first chunk, 4T after.
/// </summary>
public sealed class TaehvStreamDecoder : IDisposable
{
    private readonly TaehvDecoder _decoder;
    private Tensor?[] _memory;

    public int ChunksDecoded { get; private set; }

    public TaehvStreamDecoder(TaehvDecoder decoder)
    {
        _decoder = decoder;
        _memory = new Tensor?[decoder.MemBlockIndices.Count];
    }

    /// <param name="latents">[N, T, 16, h, w] (the generator's layout).</param>
    /// <returns>[N, frames, 3, 8h, 8w] in [−1, 1] (float32).</returns>
    public Tensor DecodeChunk(Tensor latents)
    {
        using var scope = NewDisposeScope();
        var next = (Tensor?[])_memory.Clone();
        for (int i = 0; i < next.Length; i++) next[i] = next[i]?.clone().DetachFromDisposeScope();
        Tensor frames;
        try { frames = _decoder.Decode(latents, next); }
        catch
        {
            foreach (var t in next) t?.Dispose();
            throw;
        }
        // Commit the new memory only after success: a failed chunk leaves the stream where it was.
        foreach (var t in _memory) t?.Dispose();
        _memory = next;
        if (ChunksDecoded == 0) frames = frames.narrow(1, _decoder.Config.FramesToTrim, frames.shape[1] - _decoder.Config.FramesToTrim);
        ChunksDecoded++;
        // In place on this chunk's own output (a float32 decoder's .to(Float32) is the same tensor).
        return frames.to(ScalarType.Float32).mul_(2).sub_(1).MoveToOuterDisposeScope();
    }

    /// <summary>Deep copy of the stream state.</summary>
    public TaehvSnapshot Snapshot() => new(_memory.Select(t => t?.clone().DetachFromDisposeScope()).ToArray(), ChunksDecoded);

    public void Restore(TaehvSnapshot snapshot)
    {
        foreach (var t in _memory) t?.Dispose();
        _memory = snapshot.Memory.Select(t => t?.clone().DetachFromDisposeScope()).ToArray();
        ChunksDecoded = snapshot.ChunksDecoded;
    }

    public void Reset()
    {
        foreach (var t in _memory) t?.Dispose();
        _memory = new Tensor?[_memory.Length];
        ChunksDecoded = 0;
    }

    public void Dispose() => Reset();
}

/// <summary>Immutable copy of a TAEHV stream's MemBlock memory.</summary>
public sealed class TaehvSnapshot(Tensor?[] memory, int chunksDecoded) : IDisposable
{
    internal Tensor?[] Memory { get; } = memory;
    /// <summary>Each MemBlock's memory, in block order (this snapshot's own tensors: do not dispose them).</summary>
    public IReadOnlyList<Tensor?> MemoryTensors => Memory;
    public int ChunksDecoded { get; } = chunksDecoded;
    public void Dispose() { foreach (var t in Memory) t?.Dispose(); }
}
