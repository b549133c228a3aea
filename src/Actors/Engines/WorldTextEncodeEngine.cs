using SelfForcing.Model.Text;
using SelfForcing.World;
using TorchSharp;
using static TorchSharp.torch;

namespace SelfForcing.Actors.Engines;

/// <summary>
/// The tiny world's text encoder: the UMT5 encoder code at toy size over <see cref="WorldVocabulary"/> (one token per
/// grammar word). Its weights are drawn from a seed, or trained by <c>train world-text</c> so each token names its own
/// object (<see cref="WorldTextFile"/>); either way they stay frozen while the DiT trains, as Wan's UMT5 does. Words
/// outside the vocabulary encode as UMT5's unknown id.
/// </summary>
public sealed class WorldTextEncodeEngine : ITextEncodeEngine
{
    private readonly T5Encoder _encoder;

    /// <summary>Names how a seed becomes weights (<see cref="T5Encoder.InitializeReference"/>); data files record it.</summary>
    public const string SeedInit = "wan-t5-init";

    public Device Device { get; }
    public T5EncoderConfig Config => _encoder.Config;

    /// <summary>The encoder's shape for a world model: <paramref name="textLen"/> must hold the longest caption.</summary>
    public static T5EncoderConfig ConfigFor(int textLen, int dim) => new(Vocab: WorldVocabulary.Size, Dim: dim, DimAttn: dim, DimFfn: 2 * dim,
        NumHeads: 2, NumLayers: 2, NumBuckets: 8, TextLen: textLen);

    /// <summary>
    /// Random weights from <paramref name="seed"/>, drawn as the reference draws a new UMT5
    /// (<see cref="T5Encoder.InitializeReference"/>; the CPU generator, so the same on every machine). Its captions come
    /// out at unit scale, as a real UMT5's do. (The first shipped world model's encoder was N(0, 0.1²) in every tensor,
    /// norms included: captions ~0.05 RMS per element. Trained 1,200 steps on such captions, a teacher read none of the
    /// colour words (<c>train word-probe</c>: 17.5%, chance 20%); on the same captions at unit scale, 52.5%. Its weights
    /// ship inside its model file, so it reads the same as before.)
    /// </summary>
    public WorldTextEncodeEngine(T5EncoderConfig config, Device device, long seed)
    {
        if (config.Vocab != WorldVocabulary.Size)
            throw new ArgumentException($"a world text encoder has {WorldVocabulary.Size} tokens, the config says {config.Vocab}");
        Device = device;
        _encoder = Seeded(config, device, seed);
        _encoder.eval();
    }

    /// <summary>The encoder module of <paramref name="seed"/>'s weights (what a <c>train world-text</c> run starts from).</summary>
    public static T5Encoder Seeded(T5EncoderConfig config, Device device, long seed)
    {
        var encoder = new T5Encoder(config, device, ScalarType.Float32);
        encoder.InitializeReference((ulong)seed + 17);
        return encoder;
    }

    /// <summary>Given weights (e.g. the shipped world model's), loaded strictly.</summary>
    public WorldTextEncodeEngine(T5EncoderConfig config, Device device, IEnumerable<KeyValuePair<string, Tensor>> weights)
    {
        if (config.Vocab != WorldVocabulary.Size)
            throw new ArgumentException($"a world text encoder has {WorldVocabulary.Size} tokens, the config says {config.Vocab}");
        Device = device;
        _encoder = new T5Encoder(config, device, ScalarType.Float32);
        try { _encoder.LoadWeights(weights); }
        catch
        {
            _encoder.Dispose();
            throw;
        }
        _encoder.eval();
    }

    /// <summary>The encoder's parameters by name (what <see cref="WorldModelFile"/> ships).</summary>
    public IEnumerable<KeyValuePair<string, Tensor>> Weights() =>
        _encoder.named_parameters().Select(p => KeyValuePair.Create(p.name, (Tensor)p.parameter));

    /// <summary>The token ids this engine feeds the encoder (and the words it did not know).</summary>
    public WorldTokens Tokenize(string prompt) => WorldVocabulary.Tokenize(prompt, _encoder.Config.TextLen);

    public Tensor Encode(string prompt)
    {
        var tokens = Tokenize(prompt);
        int textLen = _encoder.Config.TextLen;
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var ids = tensor(tokens.Ids, [1, textLen], device: Device);
        var mask = tensor(tokens.Mask, [1, textLen], device: Device);
        return TextEncoder.EncodeTokens(_encoder, ids, mask).MoveToOuterDisposeScope();
    }

    public void Dispose() => _encoder.Dispose();
}
