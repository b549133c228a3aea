using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace SelfForcing.Model.Dit;

/// <summary>
/// The weights a freshly built reference <c>WanModel</c> starts training from (<c>wan/modules/model.py</c>: the
/// constructors, then <c>init_weights</c>): every <c>nn.Linear</c> Xavier-uniform with zero bias; the patch embedding's
/// weight Xavier-uniform over <c>flatten(1)</c> and its bias PyTorch's Conv3d default (uniform ±1/√fan_in); the text and
/// time embeddings' linear weights N(0, 0.02²); RMS/layer norms at one (layer-norm bias zero); each block's and the
/// head's <c>modulation</c> N(0, 1)/√dim; the head's output weight zero. All drawn from one seeded CPU generator, so a seed
/// means the same start on every machine and device.
/// </summary>
/// <remarks>
/// <see cref="WanTransformer.InitializeRandom"/> (every tensor N(0, 0.02²), fine for demos that never train) also sets
/// the q/k RMS-norm gains to ~0.02, so attention starts uniform. A training run from scratch starts here instead, where
/// the reference starts. Measured on the tiny world (1,200 CPU steps, 40 held-out clips, <c>train word-probe</c>): no
/// better than the all-0.02 start (AdamW grows the small gains within a few hundred steps), so this is about starting
/// where the reference does, not a fix of what the first world teacher failed to learn.
/// </remarks>
public static class ReferenceInit
{
    public static void Apply(WanTransformer model, long seed)
    {
        using var noGrad = no_grad();
        var gen = new Generator((ulong)seed);
        var dim = model.Config.Dim;
        foreach (var (name, module) in model.named_modules())
        {
            using var scope = NewDisposeScope();
            switch (module)
            {
                case Linear linear when name.StartsWith("text_embedding.", StringComparison.Ordinal)
                                     || name.StartsWith("time_embedding.", StringComparison.Ordinal):
                    Fill(linear.weight!, Normal(linear.weight!.shape, 0.02, gen));
                    ZeroBias(linear.bias);
                    break;
                case Linear linear when name == "head.head":
                    Fill(linear.weight!, zeros(linear.weight!.shape));
                    ZeroBias(linear.bias);
                    break;
                case Linear linear:
                    Fill(linear.weight!, XavierUniform(linear.weight!.shape, linear.weight.shape[1], linear.weight.shape[0], gen));
                    ZeroBias(linear.bias);
                    break;
                case Conv3d conv:
                    var w = conv.weight!;
                    long fanIn = w.shape.Skip(1).Aggregate(1L, (a, b) => a * b);
                    Fill(w, XavierUniform(w.shape, fanIn, w.shape[0], gen));
                    if (conv.bias is { } bias) Fill(bias, Uniform(bias.shape, 1.0 / Math.Sqrt(fanIn), gen));
                    break;
                case WanRmsNorm norm:
                    Fill(norm.weight, ones(norm.weight.shape));
                    break;
                case WanLayerNorm { weight: { } lnWeight } norm:
                    Fill(lnWeight, ones(lnWeight.shape));
                    if (norm.bias is { } lnBias) Fill(lnBias, zeros(lnBias.shape));
                    break;
                case WanAttentionBlock block:
                    Fill(block.modulation, Normal(block.modulation.shape, 1.0 / Math.Sqrt(dim), gen));
                    break;
                case Head head:
                    Fill(head.modulation, Normal(head.modulation.shape, 1.0 / Math.Sqrt(dim), gen));
                    break;
            }
        }
    }

    // nn.init.xavier_uniform_: U(±√(6 / (fan_in + fan_out))).
    private static Tensor XavierUniform(long[] shape, long fanIn, long fanOut, Generator gen) =>
        Uniform(shape, Math.Sqrt(6.0 / (fanIn + fanOut)), gen);

    private static Tensor Uniform(long[] shape, double bound, Generator gen) =>
        rand(shape, ScalarType.Float32, CPU, generator: gen).mul_(2 * bound).sub_(bound);

    private static Tensor Normal(long[] shape, double std, Generator gen) =>
        randn(shape, ScalarType.Float32, CPU, generator: gen).mul_(std);

    private static void Fill(Tensor parameter, Tensor value) => parameter.copy_(value.to(parameter.dtype, parameter.device));

    private static void ZeroBias(Tensor? bias)
    {
        if (bias is not null) Fill(bias, zeros(bias.shape));
    }
}
