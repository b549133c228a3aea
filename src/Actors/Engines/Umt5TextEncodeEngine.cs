using SelfForcing.Model.Text;
using static TorchSharp.torch;

namespace SelfForcing.Actors.Engines;

/// <summary>The real UMT5-XXL text encoder (with its prompt cache) behind the text-encode stage.</summary>
public sealed class Umt5TextEncodeEngine : ITextEncodeEngine
{
    private readonly TextEncoder _encoder;

    public Device Device { get; }

    public Umt5TextEncodeEngine(TextEncoder encoder, Device device)
    {
        _encoder = encoder;
        Device = device;
    }

    public Tensor Encode(string prompt) => _encoder.Encode([prompt], Device);

    public void Dispose() => _encoder.Dispose();
}
