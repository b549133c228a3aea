using SelfForcing.Actors.Wire;
using SelfForcing.Model.Taehv;
using static TorchSharp.torch;

namespace SelfForcing.Actors.Engines;

/// <summary>TAEHV behind the decode stage; its MemBlock memory travels as snapshots like the VAE's cache.</summary>
public sealed class TaehvDecodeEngine(TaehvDecoder decoder) : IDecodeEngine
{
    private sealed class State(TaehvSnapshot snapshot) : IDecoderState
    {
        public TaehvSnapshot Snapshot { get; } = snapshot;
        public int ChunksDecoded => Snapshot.ChunksDecoded;
        public DecoderStateParts Export() => new("taehv", ChunksDecoded, [],
            Snapshot.MemoryTensors.Select(t => t is null ? 0 : 1).ToArray(), Snapshot.MemoryTensors.Select(t => t is null ? null : WireTensor.From(t)).ToArray());
        public void Dispose() => Snapshot.Dispose();
    }

    public Device Device => decoder.Device;
    public IReadOnlyCollection<string> Decoders { get; } = ["taehv"];

    public IDecoderState Initial(string name)
    {
        if (name != "taehv") throw new ArgumentException($"decoder '{name}' is not available; this engine has: taehv");
        using var fresh = new TaehvStreamDecoder(decoder);
        return new State(fresh.Snapshot());
    }

    public IDecoderState Import(DecoderStateParts parts)
    {
        int blocks = decoder.MemBlockIndices.Count;
        if (parts.Decoder != "taehv" || parts.Tensors.Length != blocks || parts.ChunksDecoded < 0)
            throw new ArgumentException($"not a TAEHV state for this decoder ({parts.Decoder}, {parts.Tensors.Length} memories, {blocks} expected)");
        return new State(new TaehvSnapshot(parts.Tensors.Select(t => t?.ToTensor(Device).DetachFromDisposeScope()).ToArray(), parts.ChunksDecoded));
    }

    public (Tensor Pixels, IDecoderState Next) Decode(string name, IDecoderState state, Tensor latents)
    {
        using var stream = new TaehvStreamDecoder(decoder);
        stream.Restore(((State)state).Snapshot);
        var pixels = stream.DecodeChunk(latents);
        using var scope = NewDisposeScope();
        var cpu = pixels.cpu().MoveToOuterDisposeScope();
        if (!ReferenceEquals(cpu, pixels)) pixels.Dispose();
        return (cpu, new State(stream.Snapshot()));
    }

    public void Dispose() => decoder.Dispose();
}
