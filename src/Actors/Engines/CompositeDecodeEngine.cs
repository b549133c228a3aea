using static TorchSharp.torch;

namespace SelfForcing.Actors.Engines;

/// <summary>Several decoders behind one decode stage; each stream picks one by name (the demo's VAE/TAEHV toggle).</summary>
public sealed class CompositeDecodeEngine : IDecodeEngine
{
    private readonly Dictionary<string, IDecodeEngine> _byName = new(StringComparer.Ordinal);
    private readonly IDecodeEngine[] _engines;

    public CompositeDecodeEngine(params IDecodeEngine[] engines)
    {
        if (engines.Length == 0) throw new ArgumentException("at least one decoder is needed");
        _engines = engines;
        foreach (var e in engines)
        foreach (var name in e.Decoders)
            if (!_byName.TryAdd(name, e)) throw new ArgumentException($"decoder '{name}' is provided twice");
    }

    public Device Device => _engines[0].Device;
    public IReadOnlyCollection<string> Decoders => _byName.Keys;

    private IDecodeEngine For(string name) => _byName.TryGetValue(name, out var e)
        ? e : throw new ArgumentException($"decoder '{name}' is not available (have: {string.Join(", ", _byName.Keys)})");

    public IDecoderState Initial(string decoder) => For(decoder).Initial(decoder);

    public IDecoderState Import(DecoderStateParts parts) => For(parts.Decoder).Import(parts);

    public (Tensor Pixels, IDecoderState Next) Decode(string decoder, IDecoderState state, Tensor latents) => For(decoder).Decode(decoder, state, latents);

    public void Dispose()
    {
        foreach (var e in _engines) e.Dispose();
    }
}
