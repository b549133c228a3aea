using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace SelfForcing.World;

/// <summary>
/// A 2-D convolution computed as im2col and one matrix product, with <c>weight</c> and <c>bias</c> laid out and
/// initialised exactly as <c>nn.Conv2d</c>'s (same state-dict keys, same draws from the seeded generator).
/// <para>Why not <c>Conv2d</c>: on this machine's libtorch, oneDNN's convolution training gave NaN at random for the
/// world VAE's shapes — in a long-lived process (the test host) one run in two, the same inputs and seed, one thread or
/// two; with oneDNN switched off never. That switch is process-wide and would change the kernels under any other model
/// running beside, so the VAE keeps off oneDNN by not calling it: unfold and matmul run on the native BLAS path, forward
/// and backward. The price is training speed, about 4× oneDNN's (30 steps of batch 64: 40 s against 10 s); decoding a
/// stream's 3-frame chunks is not measurably slower.</para>
/// </summary>
public sealed class MatmulConv2d : Module<Tensor, Tensor>
{
    private readonly Parameter weight;
    private readonly Parameter bias;
    private readonly long _kernel, _stride, _padding;

    public MatmulConv2d(long inChannels, long outChannels, long kernel, long stride = 1, long padding = 0) : base(nameof(MatmulConv2d))
    {
        // Conv2d's own initialisation, so a seed draws the same starting weights as the layer this replaces.
        using (var conv = Conv2d(inChannels, outChannels, kernel, stride: stride, padding: padding))
        {
            weight = new Parameter(conv.weight!.detach().clone());
            bias = new Parameter(conv.bias!.detach().clone());
        }
        (_kernel, _stride, _padding) = (kernel, stride, padding);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        long n = x.shape[0], h = x.shape[2], w = x.shape[3], outChannels = weight.shape[0];
        long outH = (h + 2 * _padding - _kernel) / _stride + 1, outW = (w + 2 * _padding - _kernel) / _stride + 1;
        var columns = functional.unfold(x, _kernel, padding: _padding, stride: _stride); // [N, C·k·k, L]
        var y = weight.reshape(outChannels, -1).matmul(columns).add(bias.reshape(1, outChannels, 1));
        return y.reshape(n, outChannels, outH, outW).MoveToOuterDisposeScope();
    }
}
