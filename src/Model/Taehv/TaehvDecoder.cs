using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace SelfForcing.Model.Taehv;

/// <summary>
/// TAEHV's decoder (state-dict keys <c>decoder.N.*</c>). Frames are processed all at once per call (the reference's
/// parallel mode); each MemBlock's <c>past</c> is the previous frame's input, carried across calls by
/// <see cref="TaehvStreamDecoder"/> so that chunked decoding equals decoding the whole video.
/// </summary>
public sealed class TaehvDecoder : nn.Module<Tensor, Tensor>
{
#pragma warning disable IDE1006
    public readonly ModuleDict<nn.Module> decoder;
#pragma warning restore IDE1006

    private readonly nn.Module[] _layers;

    public TaehvConfig Config { get; }
    public Device Device { get; }
    public ScalarType DType { get; }

    /// <summary>Indices of the MemBlocks in <see cref="decoder"/>, in order.</summary>
    public IReadOnlyList<int> MemBlockIndices { get; }

    public TaehvDecoder(TaehvConfig config, Device? device = null, ScalarType dtype = ScalarType.Float32) : base(nameof(TaehvDecoder))
    {
        Config = config.Validate();
        Device = device ?? CPU;
        DType = dtype;
        var nf = config.NF;
        var layers = new List<nn.Module<Tensor, Tensor>>();
        nn.Module<Tensor, Tensor> Conv(long i, long o, bool bias = true) => nn.Conv2d(i, o, 3, padding: 1, bias: bias, device: device, dtype: dtype);
        var memBlocks = new List<(int Index, MemBlock Block)>();
        var all = new List<(string, nn.Module)>();
        void Add(nn.Module m) => all.Add((all.Count.ToString(), m));
        void Mem(long c) { var b = new MemBlock(c, device, dtype); memBlocks.Add((all.Count, b)); Add(b); }
        Add(new TaehvClamp());
        Add(Conv(config.LatentChannels, nf[0]));
        Add(nn.ReLU());
        for (int stage = 0; stage < 3; stage++)
        {
            for (int k = 0; k < 3; k++) Mem(nf[stage]);
            Add(nn.Upsample(scale_factor: [config.DecoderSpaceUpscale[stage] ? 2.0 : 1.0, config.DecoderSpaceUpscale[stage] ? 2.0 : 1.0], mode: UpsampleMode.Nearest));
            int stride = stage == 0 ? 1 : config.DecoderTimeUpscale[stage - 1] ? 2 : 1;
            Add(new TGrow(nf[stage], stride, device, dtype));
            Add(Conv(nf[stage], nf[stage + 1], bias: false));
        }
        Add(nn.ReLU());
        Add(Conv(nf[3], config.ImageChannels));
        decoder = nn.ModuleDict(all.ToArray());
        _layers = all.Select(m => m.Item2).ToArray();
        MemBlockIndices = memBlocks.Select(m => m.Index).ToArray();
        RegisterComponents();
        if (Device.type == DeviceType.CPU) OneDnnConvolutionGuard.Apply(this);
    }

    public override Tensor forward(Tensor x) => throw new NotSupportedException("use Decode");

    /// <summary>
    /// Decodes latents [N, T, C, h, w] (raw, not de-normalised) to frames [N, s·T, 3, 8h, 8w] in about [0, 1],
    /// untrimmed. <paramref name="memory"/> holds, per MemBlock, its last input frame [N, C, H, W] from the
    /// previous call (null = start of a video); it is replaced by this call's last frames.
    /// </summary>
    public Tensor Decode(Tensor latents, Tensor?[] memory)
    {
        if (latents.dim() != 5 || latents.shape[2] != Config.LatentChannels)
            throw new ArgumentException($"TAEHV latents must be [N, T, {Config.LatentChannels}, h, w], got [{string.Join(", ", latents.shape)}]");
        if (memory.Length != MemBlockIndices.Count) throw new ArgumentException($"memory must have {MemBlockIndices.Count} entries");
        long n = latents.shape[0];
        using var scope = NewDisposeScope();
        // Only the current activation stays alive (as in the reference, where each one is freed when x is rebound):
        // every layer's input and each MemBlock's past frames are freed as soon as the layer's output exists. Views
        // are made in inner scopes, since a live view keeps its base tensor's memory.
        var x = latents.to(DType, Device).flatten(0, 1);
        int m = 0;
        foreach (var layer in _layers)
        {
            Tensor y;
            if (layer is MemBlock block)
            {
                var past = PastFrames(x, n, ref memory[m++]);
                y = block.call(x, past);
                past.Dispose();
            }
            else
            {
                // In place only on activations made here: the first layer (the clamp) reads the caller's latents.
                y = layer is ReLU ? x.relu_() : ((nn.Module<Tensor, Tensor>)layer).call(x);
            }
            if (!ReferenceEquals(y, x)) x.Dispose();
            x = y;
        }
        return x.reshape(n, -1, x.shape[1], x.shape[2], x.shape[3]).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Each frame's previous frame (<paramref name="memory"/>'s frame, or zeros at the start of a video, before the
    /// first), as [N·T, C, H, W] like <paramref name="x"/>; <paramref name="memory"/> becomes x's last frame.
    /// </summary>
    private static Tensor PastFrames(Tensor x, long n, ref Tensor? memory)
    {
        using var scope = NewDisposeScope();
        long t = x.shape[0] / n;
        var frames = x.reshape(n, t, x.shape[1], x.shape[2], x.shape[3]);
        var first = memory is { } prev ? prev.unsqueeze(1) : zeros_like(frames.narrow(1, 0, 1));
        var past = cat([first, frames.narrow(1, 0, t - 1)], 1).reshape(x.shape);
        memory?.Dispose();
        memory = frames.select(1, t - 1).clone().DetachFromDisposeScope();
        return past.MoveToOuterDisposeScope();
    }

    /// <summary>Whole-video decode (reference <c>decode_video</c>): [N, s·T, 3, H, W], not trimmed.</summary>
    public Tensor DecodeVideo(Tensor latents)
    {
        var memory = new Tensor?[MemBlockIndices.Count];
        try { return Decode(latents, memory); }
        finally { foreach (var t in memory) t?.Dispose(); }
    }

    /// <summary>Strict load of the <c>decoder.*</c> keys; <c>encoder.*</c> keys of a full taew2_1.pth are ignored.</summary>
    public void LoadStateDict(IReadOnlyDictionary<string, Tensor> weights)
    {
        var own = weights.Where(kv => !kv.Key.StartsWith("encoder.", StringComparison.Ordinal)).ToDictionary(kv => kv.Key, kv => kv.Value);
        Checkpoints.ModuleWeights.LoadStrict(this, own, "TAEHV decoder");
    }
}
