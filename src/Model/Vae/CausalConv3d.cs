using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace SelfForcing.Model.Vae;

/// <summary>
/// Reference <c>CausalConv3d</c>: all temporal padding goes in front (2·p_t frames), none behind; cached past
/// frames replace that many zero frames.
/// </summary>
public sealed class CausalConv3d : nn.Module<Tensor, Tensor>
{
    private readonly long[] _stride;
    private readonly long _padT, _padH, _padW;
#pragma warning disable IDE1006 // names mirror the state-dict keys
    public readonly Parameter weight;
    public readonly Parameter bias;
#pragma warning restore IDE1006

    public long InChannels { get; }
    public long OutChannels { get; }

    public CausalConv3d(long inChannels, long outChannels, (long T, long H, long W) kernel, (long T, long H, long W) padding,
        (long T, long H, long W)? stride = null, Device? device = null, ScalarType dtype = ScalarType.Float32)
        : base(nameof(CausalConv3d))
    {
        InChannels = inChannels;
        OutChannels = outChannels;
        _padT = padding.T; _padH = padding.H; _padW = padding.W;
        var s = stride ?? (1, 1, 1);
        _stride = [s.T, s.H, s.W];
        weight = new Parameter(empty([outChannels, inChannels, kernel.T, kernel.H, kernel.W], dtype: dtype, device: device), requires_grad: false);
        bias = new Parameter(zeros(outChannels, dtype: dtype, device: device), requires_grad: false);
        RegisterComponents();
    }

    public CausalConv3d(long inChannels, long outChannels, long kernel, long padding, Device? device = null, ScalarType dtype = ScalarType.Float32)
        : this(inChannels, outChannels, (kernel, kernel, kernel), (padding, padding, padding), null, device, dtype) { }

    /// <summary>This conv for the oneDNN probe: time padding is applied here, in front, so the probe pads only H and W.</summary>
    public OneDnn.ConvProbeShape ProbeShape =>
        OneDnn.ConvProbeShape.Conv3d(InChannels, OutChannels, weight.shape[2..], _stride, [0, _padH, _padW]);

    /// <summary>True when the conv looks at past frames, i.e. when a cache changes its result.</summary>
    public bool UsesCache => _padT > 0;

    public override Tensor forward(Tensor x) => Forward(x, null);

    public Tensor Forward(Tensor x, Tensor? cache)
    {
        long front = 2 * _padT;
        if (cache is not null && front > 0) front -= cache.shape[2];
        else cache = null;
        if (front < 0)
            throw new InvalidOperationException($"CausalConv3d: cache of {cache!.shape[2]} frames exceeds the {2 * _padT} frames of context.");
        if (cache is null && front == 0 && _padH == 0 && _padW == 0)
            return nn.functional.conv3d(x, weight, bias, strides: _stride);

        // One zero-filled buffer that the cached frames and x are copied into: the same values, in the same layout, as
        // the reference's cat([cache, x]) followed by F.pad, without a second full-size copy of the input.
        using var scope = NewDisposeScope();
        long cached = cache?.shape[2] ?? 0;
        var padded = zeros([x.shape[0], x.shape[1], front + cached + x.shape[2], x.shape[3] + 2 * _padH, x.shape[4] + 2 * _padW],
            dtype: x.dtype, device: x.device);
        var inside = padded.narrow(3, _padH, x.shape[3]).narrow(4, _padW, x.shape[4]);
        if (cache is not null) inside.narrow(2, front, cached).copy_(cache);
        inside.narrow(2, front + cached, x.shape[2]).copy_(x);
        return nn.functional.conv3d(padded, weight, bias, strides: _stride).MoveToOuterDisposeScope();
    }
}
