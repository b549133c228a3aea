using System.Text;
using SelfForcing.Model.Text;
using TorchSharp;
using static TorchSharp.torch;

namespace SelfForcing.Actors.Engines;

/// <summary>
/// A random-weight UMT5 encoder over UTF-8 bytes, for the no-weights demo and tests: the real encoder code path
/// with a byte-level vocabulary instead of the SentencePiece model. Its embeddings carry no meaning.
/// </summary>
public sealed class TinyTextEncodeEngine : ITextEncodeEngine
{
    private const int ByteOffset = 3; // 0 = pad, 1 = eos, 2 = unk, as in UMT5
    private readonly T5Encoder _encoder;

    public Device Device { get; }
    public T5EncoderConfig Config => _encoder.Config;

    public TinyTextEncodeEngine(int textLen, int dim, Device device, long seed = 0)
    {
        Device = device;
        var config = new T5EncoderConfig(Vocab: 256 + ByteOffset, Dim: dim, DimAttn: dim, DimFfn: 2 * dim, NumHeads: 2, NumLayers: 2,
            NumBuckets: 8, TextLen: textLen);
        _encoder = new T5Encoder(config, device, ScalarType.Float32);
        _encoder.InitializeRandom((ulong)seed + 17, std: 0.1);
        _encoder.eval();
    }

    public Tensor Encode(string prompt)
    {
        ArgumentNullException.ThrowIfNull(prompt);
        int textLen = _encoder.Config.TextLen;
        var bytes = Encoding.UTF8.GetBytes(prompt);
        int n = Math.Min(bytes.Length, textLen - 1);
        var ids = new long[textLen];
        var mask = new long[textLen];
        for (int i = 0; i < n; i++) { ids[i] = bytes[i] + ByteOffset; mask[i] = 1; }
        ids[n] = 1; // eos
        mask[n] = 1;
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var idsT = tensor(ids, [1, textLen], device: Device);
        var maskT = tensor(mask, [1, textLen], device: Device);
        return TextEncoder.EncodeTokens(_encoder, idsT, maskT).MoveToOuterDisposeScope();
    }

    public void Dispose() => _encoder.Dispose();
}
