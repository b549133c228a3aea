using SelfForcing.Actors.Engines;
using SelfForcing.Training.Data;
using static TorchSharp.torch;

namespace SelfForcing.Hosting.Training;

/// <summary>
/// The tiny random-weight text encoder that <c>selfforcing generate</c> uses without weights, as training's prompt
/// encoder: a model trained on these embeddings sees the same ones when it generates.
/// </summary>
public sealed class TinyPromptEncoder(int textLen, int textDim, long seed = 0) : IPromptEncoder, IDisposable
{
    private readonly TinyTextEncodeEngine _engine = new(textLen, textDim, CPU, seed);

    /// <summary>Calls to <see cref="Encode"/> (the cache test counts them).</summary>
    public int Calls { get; private set; }

    // Bump the version when TinyTextEncodeEngine's tokens or weights change: cached embeddings are keyed by this.
    public string Identity => $"tiny-umt5-bytes-v1/seed={seed}/text_len={textLen}/dim={textDim}";

    public Tensor Encode(string prompt)
    {
        Calls++;
        return _engine.Encode(prompt);
    }

    public void Dispose() => _engine.Dispose();
}
