using System.Text.Json;

namespace SelfForcing.Model.Text;

/// <summary>
/// Hyper-parameters of the encoder-only UMT5 stack (wan/modules/t5.py <c>T5Encoder</c>).
/// <see cref="UmT5Xxl"/> is the configuration Wan ships; smaller ones come from fixtures or tests.
/// </summary>
public sealed record T5EncoderConfig(
    int Vocab,
    int Dim,
    int DimAttn,
    int DimFfn,
    int NumHeads,
    int NumLayers,
    int NumBuckets,
    int MaxDist = 128,
    bool SharedPos = false,
    double Eps = 1e-6,
    int TextLen = 512)
{
    /// <summary>umt5_xxl(encoder_only=True) as used by Wan2.1 (5.68B parameters).</summary>
    public static T5EncoderConfig UmT5Xxl { get; } = new(
        Vocab: 256384, Dim: 4096, DimAttn: 4096, DimFfn: 10240, NumHeads: 64, NumLayers: 24, NumBuckets: 32);

    public int HeadDim => DimAttn / NumHeads;

    /// <summary>Throws when the configuration cannot describe a T5 encoder.</summary>
    public T5EncoderConfig Validate()
    {
        if (Vocab <= 0 || Dim <= 0 || DimAttn <= 0 || DimFfn <= 0 || NumHeads <= 0 || NumLayers <= 0)
            throw new ArgumentException($"T5 encoder sizes must be positive: {this}");
        if (DimAttn % NumHeads != 0)
            throw new ArgumentException($"dim_attn {DimAttn} is not divisible by num_heads {NumHeads}.");
        if (NumBuckets < 4 || NumBuckets % 2 != 0)
            throw new ArgumentException($"num_buckets {NumBuckets} must be an even number >= 4 (bidirectional buckets).");
        if (MaxDist <= NumBuckets / 4)
            throw new ArgumentException($"max_dist {MaxDist} must exceed num_buckets/4 = {NumBuckets / 4}.");
        if (SharedPos)
            throw new NotSupportedException("shared_pos=True (plain T5) is not supported; UMT5 uses a relative-position table per layer.");
        if (TextLen <= 1) throw new ArgumentException($"text_len {TextLen} must leave room for the EOS token.");
        if (!(Eps > 0)) throw new ArgumentException($"eps {Eps} must be positive.");
        return this;
    }

    /// <summary>
    /// Reads the reference's keyword names (vocab, dim, dim_attn, dim_ffn, num_heads, num_layers, num_buckets,
    /// max_dist, shared_pos, eps, text_len); missing optional keys keep the UMT5 defaults.
    /// </summary>
    public static T5EncoderConfig FromJson(JsonElement json)
    {
        static int Req(JsonElement j, string name) =>
            j.TryGetProperty(name, out var v) ? v.GetInt32() : throw new ArgumentException($"T5 config lacks '{name}'.");
        return new T5EncoderConfig(
            Vocab: Req(json, "vocab"),
            Dim: Req(json, "dim"),
            DimAttn: Req(json, "dim_attn"),
            DimFfn: Req(json, "dim_ffn"),
            NumHeads: Req(json, "num_heads"),
            NumLayers: Req(json, "num_layers"),
            NumBuckets: Req(json, "num_buckets"),
            MaxDist: json.TryGetProperty("max_dist", out var md) ? md.GetInt32() : 128,
            SharedPos: json.TryGetProperty("shared_pos", out var sp) && sp.GetBoolean(),
            Eps: json.TryGetProperty("eps", out var e) ? e.GetDouble() : 1e-6,
            TextLen: json.TryGetProperty("text_len", out var tl) ? tl.GetInt32() : 512).Validate();
    }
}
