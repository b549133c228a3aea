using System.Text.Json;

namespace SelfForcing.Model.Dit;

/// <summary>
/// Hyperparameters of a Wan 2.1 DiT, named after the reference's <c>config.json</c> keys. The causal
/// options (<see cref="NumFramePerBlock"/>, <see cref="LocalAttnSize"/>, <see cref="SinkSize"/>) come from the
/// Self-Forcing wrapper rather than the checkpoint.
/// </summary>
public sealed record WanConfig
{
    public int[] PatchSize { get; init; } = [1, 2, 2];
    public int TextLen { get; init; } = 512;
    public int InDim { get; init; } = 16;
    public int Dim { get; init; } = 1536;
    public int FfnDim { get; init; } = 8960;
    public int FreqDim { get; init; } = 256;
    public int TextDim { get; init; } = 4096;
    public int OutDim { get; init; } = 16;
    public int NumHeads { get; init; } = 12;
    public int NumLayers { get; init; } = 30;
    public bool QkNorm { get; init; } = true;
    public bool CrossAttnNorm { get; init; } = true;
    public double Eps { get; init; } = 1e-6;
    public int NumFramePerBlock { get; init; } = 3;
    /// <summary>Self-attention window in latent frames; -1 = global attention over the whole cache.</summary>
    public int LocalAttnSize { get; init; } = -1;
    /// <summary>Latent frames at the start of the stream that rolling attention never evicts.</summary>
    public int SinkSize { get; init; }

    public int HeadDim => Dim / NumHeads;
    public int PatchElements => PatchSize[0] * PatchSize[1] * PatchSize[2] * OutDim;

    public static WanConfig T2V_1_3B { get; } = new();

    public static WanConfig T2V_14B { get; } = new() { Dim = 5120, FfnDim = 13824, NumHeads = 40, NumLayers = 40 };

    /// <summary>A few-MB model for tests and the no-weights demo path.</summary>
    public static WanConfig Tiny { get; } = new()
    {
        TextLen = 16, Dim = 48, FfnDim = 96, FreqDim = 16, TextDim = 32, NumHeads = 2, NumLayers = 2,
    };

    /// <summary>The tiny world's model (src/World): text_len 20 holds the longest caption (18 tokens), text_dim the
    /// world text encoder's width. Width 96 over 2×2 patches (64 values a token): with 4×4 patches (256 values a token,
    /// 4× cheaper) the flow-matching loss stalled at 0.70 — a 96-wide token cannot carry the noise it must predict.</summary>
    public static WanConfig World { get; } = new()
    {
        TextLen = 20, Dim = 96, FfnDim = 192, FreqDim = 32, TextDim = 32, NumHeads = 2, NumLayers = 4,
    };

    /// <summary>The reference <c>config.json</c> keys (and the causal options) that <see cref="FromJson"/> reads back.</summary>
    public string ToJson() => JsonSerializer.Serialize(new Dictionary<string, object>
    {
        ["patch_size"] = PatchSize, ["text_len"] = TextLen, ["in_dim"] = InDim, ["dim"] = Dim, ["ffn_dim"] = FfnDim,
        ["freq_dim"] = FreqDim, ["text_dim"] = TextDim, ["out_dim"] = OutDim, ["num_heads"] = NumHeads,
        ["num_layers"] = NumLayers, ["qk_norm"] = QkNorm, ["cross_attn_norm"] = CrossAttnNorm, ["eps"] = Eps,
        ["num_frame_per_block"] = NumFramePerBlock, ["local_attn_size"] = LocalAttnSize, ["sink_size"] = SinkSize,
    }, new JsonSerializerOptions { WriteIndented = true });

    /// <summary>Reads reference <c>config.json</c> keys; absent keys keep the 1.3B defaults.</summary>
    public static WanConfig FromJson(JsonElement e)
    {
        var c = new WanConfig();
        int Int(string k, int d) => e.TryGetProperty(k, out var v) && v.ValueKind == JsonValueKind.Number ? v.GetInt32() : d;
        bool Bool(string k, bool d) => e.TryGetProperty(k, out var v) && v.ValueKind is JsonValueKind.True or JsonValueKind.False ? v.GetBoolean() : d;
        double Dbl(string k, double d) => e.TryGetProperty(k, out var v) && v.ValueKind == JsonValueKind.Number ? v.GetDouble() : d;
        var patch = e.TryGetProperty("patch_size", out var p) && p.ValueKind == JsonValueKind.Array
            ? p.EnumerateArray().Select(x => x.GetInt32()).ToArray() : c.PatchSize;
        return (c with
        {
            PatchSize = patch,
            TextLen = Int("text_len", c.TextLen),
            InDim = Int("in_dim", c.InDim),
            Dim = Int("dim", c.Dim),
            FfnDim = Int("ffn_dim", c.FfnDim),
            FreqDim = Int("freq_dim", c.FreqDim),
            TextDim = Int("text_dim", c.TextDim),
            OutDim = Int("out_dim", c.OutDim),
            NumHeads = Int("num_heads", c.NumHeads),
            NumLayers = Int("num_layers", c.NumLayers),
            QkNorm = Bool("qk_norm", c.QkNorm),
            CrossAttnNorm = Bool("cross_attn_norm", c.CrossAttnNorm),
            Eps = Dbl("eps", c.Eps),
            NumFramePerBlock = Int("num_frame_per_block", Int("frames_per_block", c.NumFramePerBlock)),
            LocalAttnSize = Int("local_attn_size", c.LocalAttnSize),
            SinkSize = Int("sink_size", c.SinkSize),
        }).Validate();
    }

    public WanConfig Validate()
    {
        var errors = new List<string>();
        if (PatchSize.Length != 3 || PatchSize.Any(x => x <= 0)) errors.Add("patch_size must be 3 positive integers");
        if (Dim <= 0 || NumHeads <= 0 || Dim % NumHeads != 0) errors.Add($"dim ({Dim}) must be a positive multiple of num_heads ({NumHeads})");
        else if (HeadDim % 2 != 0) errors.Add($"head dim {HeadDim} must be even for RoPE");
        if (FreqDim <= 0 || FreqDim % 2 != 0) errors.Add($"freq_dim ({FreqDim}) must be positive and even");
        if (InDim <= 0 || OutDim <= 0 || TextDim <= 0 || FfnDim <= 0 || TextLen <= 0 || NumLayers <= 0)
            errors.Add("in_dim, out_dim, text_dim, ffn_dim, text_len and num_layers must be positive");
        if (NumFramePerBlock <= 0) errors.Add("num_frame_per_block must be positive");
        if (LocalAttnSize != -1 && LocalAttnSize <= 0) errors.Add($"local_attn_size ({LocalAttnSize}) must be -1 (global) or positive");
        if (SinkSize < 0) errors.Add($"sink_size ({SinkSize}) must be >= 0");
        else if (LocalAttnSize == -1 && SinkSize > 0)
            errors.Add($"sink_size ({SinkSize}) needs rolling attention, but local_attn_size is -1 (global)");
        else if (LocalAttnSize > 0 && SinkSize >= LocalAttnSize)
            errors.Add($"sink_size ({SinkSize}) must be smaller than local_attn_size ({LocalAttnSize}): the sink frames are part of the window");
        else if (LocalAttnSize > 0 && SinkSize + NumFramePerBlock > LocalAttnSize)
            errors.Add($"sink_size ({SinkSize}) + num_frame_per_block ({NumFramePerBlock}) must fit in local_attn_size ({LocalAttnSize})");
        if (errors.Count > 0) throw new ArgumentException("Invalid WanConfig: " + string.Join("; ", errors));
        return this;
    }
}
