using static TorchSharp.torch;

namespace SelfForcing.Actors.Engines;

/// <summary>Prompt → conditioning [1, text_len, text_dim] on the text encoder's device.</summary>
public interface ITextEncodeEngine : IDisposable
{
    Device Device { get; }
    Tensor Encode(string prompt);
}
