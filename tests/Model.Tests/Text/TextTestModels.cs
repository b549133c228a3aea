using SelfForcing.Model.Tests.Golden;
using SelfForcing.Model.Text;
using TorchSharp;
using static TorchSharp.torch;

namespace SelfForcing.Model.Tests.Text;

/// <summary>Small seeded UMT5 encoders and the fixture SentencePiece model for unit tests.</summary>
internal static class TextTestModels
{
    public const int TextLen = 24;

    /// <summary>Tiny config whose vocabulary covers the fixture SentencePiece model (300 pieces).</summary>
    public static T5EncoderConfig Tiny { get; } = new(
        Vocab: 320, Dim: 32, DimAttn: 32, DimFfn: 48, NumHeads: 4, NumLayers: 2, NumBuckets: 32, TextLen: TextLen);

    /// <summary>Seeded random weights for every parameter of <paramref name="config"/>, in state-dict order.</summary>
    public static List<KeyValuePair<string, Tensor>> RandomWeights(T5EncoderConfig config, long seed = 7)
    {
        using var meta = new T5Encoder(config, CPU, ScalarType.Float32);
        var gen = new Generator((ulong)seed);
        return meta.named_parameters().Select(p =>
        {
            var t = randn(p.parameter.shape, generator: gen) * (p.name.Contains("norm") ? 0.1 : 0.3);
            if (p.name.Contains("norm")) t = t + 1.0;
            return new KeyValuePair<string, Tensor>(p.name, t.DetachFromDisposeScope());
        }).ToList();
    }

    public static UmT5Tokenizer Tokenizer(int textLen = TextLen) =>
        UmT5Tokenizer.FromModelFile(Path.Combine(GoldenDirectory.Path, "tokenizer.model"), textLen);

    /// <summary>A weight source that yields fresh copies (TextEncoder disposes what it is given) and counts loads.</summary>
    public sealed class CountingSource
    {
        private readonly List<KeyValuePair<string, Tensor>> _weights;
        public CountingSource(List<KeyValuePair<string, Tensor>> weights) => _weights = weights;
        public int Loads { get; private set; }

        public IEnumerable<KeyValuePair<string, Tensor>> Get()
        {
            Loads++;
            foreach (var (k, v) in _weights) yield return new KeyValuePair<string, Tensor>(k, v.clone());
        }
    }
}
