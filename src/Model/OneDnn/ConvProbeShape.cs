using SelfForcing.Model.Vae;
using TorchSharp;
using static TorchSharp.torch;
using TorchSharp.Modules;

namespace SelfForcing.Model.OneDnn;

/// <summary>
/// One convolution configuration a model runs (channels, kernel, stride, padding; 2-D or 3-D; the model's dtype),
/// probed at a small size.
/// </summary>
public sealed record ConvProbeShape(long InChannels, long OutChannels, long[] Kernel, long[] Stride, long[] Padding,
    ScalarType DType = ScalarType.Float32)
{
    public int Dims => Kernel.Length;

    public string Name =>
        $"conv{Dims}d {InChannels}→{OutChannels} k{string.Join("x", Kernel)} s{string.Join("x", Stride)} p{string.Join("x", Padding)} {DType.ToString().ToLowerInvariant()}";

    public bool Equals(ConvProbeShape? other) => other is not null && Name == other.Name;

    public override int GetHashCode() => Name.GetHashCode(StringComparison.Ordinal);

    public static ConvProbeShape Conv2d(long inChannels, long outChannels, long kernel, long stride = 1, long padding = 0,
        ScalarType dtype = ScalarType.Float32) =>
        new(inChannels, outChannels, [kernel, kernel], [stride, stride], [padding, padding], dtype);

    public static ConvProbeShape Conv3d(long inChannels, long outChannels, long[] kernel, long[]? stride = null, long[]? padding = null,
        ScalarType dtype = ScalarType.Float32) =>
        new(inChannels, outChannels, kernel, stride ?? [1, 1, 1], padding ?? [0, 0, 0], dtype);

    /// <summary>
    /// The distinct 2-D/3-D convolutions in <paramref name="model"/>'s module tree, in first-seen order, in the dtype
    /// of each conv's weight. Only float32 and half types: oneDNN never runs float64 convolutions.
    /// </summary>
    public static IReadOnlyList<ConvProbeShape> Of(nn.Module model)
    {
        var shapes = new List<ConvProbeShape>();
        foreach (var m in model.modules().Prepend(model))
        {
            ConvProbeShape? s = m switch
            {
                CausalConv3d c => c.ProbeShape with { DType = c.weight.dtype },
                Convolution c when !c.transposed && c.groups == 1 && c.kernel_size.Length is 2 or 3 =>
                    new ConvProbeShape(c.in_channels, c.out_channels, c.kernel_size, c.stride,
                        c.padding ?? new long[c.kernel_size.Length], c.weight.dtype),
                _ => null,
            };
            if (s is { DType: ScalarType.Float32 or ScalarType.BFloat16 or ScalarType.Float16 } && !shapes.Contains(s)) shapes.Add(s);
        }
        return shapes;
    }
}
